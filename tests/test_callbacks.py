import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from keras_genart.callbacks import (
    EpochSummaries,
    ImageGridCallback,
    NonFiniteLossError,
    NonFiniteLossGuard,
    ResumableCheckpoint,
    SummaryWriter,
    read_checkpoint_state,
    read_events,
    save_model_atomically,
)
from keras_genart.models import build_model
from tests.helpers import TINY


def _model():
    model = build_model("dcgan", seed=0, **TINY)
    model.compile()
    return model


def test_image_grid_writes_png_and_tensorboard(tiny_data, tmp_path):
    model = _model()
    grid = ImageGridCallback(tmp_path / "samples", tmp_path / "logs", n=4, seed=3)
    board = EpochSummaries(tmp_path / "logs", update_freq=2)
    model.fit(tiny_data, epochs=2, steps_per_epoch=3, verbose=0, callbacks=[board, grid])
    files = sorted(os.listdir(tmp_path / "samples"))
    assert files == ["epoch-0001.png", "epoch-0002.png"]
    png = Image.open(tmp_path / "samples" / files[-1])
    assert png.size == (2 * 16 + 3 * 2, 2 * 16 + 3 * 2)  # 2 x 2 tiles with padding
    assert png.text["keras_genart.model_type"] == "dcgan"
    assert png.text["keras_genart.epoch"] == "2"
    events = read_events(str(tmp_path / "logs"))
    steps = {}
    for tag, step, _ in events:
        steps.setdefault(tag, []).append(step)
    assert {"samples", "epoch_d_loss", "epoch_g_loss"} <= set(steps)
    # Images and scalars of an epoch share its step (Keras' TensorBoard convention).
    assert steps["samples"] == steps["epoch_d_loss"] == steps["epoch_g_loss"] == [0, 1]
    # Per-step curves at the global step: every 2 steps and at each epoch's end.
    assert steps["batch_d_loss"] == steps["batch_g_loss"] == [2, 3, 4, 6]
    image = next(payload for tag, step, payload in events if tag == "samples" and step == 1)
    decoded = Image.open(io.BytesIO(image))
    assert decoded.size == png.size
    np.testing.assert_array_equal(np.asarray(decoded), np.asarray(png.convert(decoded.mode)))


def test_event_files_read_by_tensorboard(tmp_path):
    # TensorBoard's own reader sees our TF-free event files.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    writer = SummaryWriter(str(tmp_path))
    writer.scalar("epoch_loss", 0.5, 3)
    writer.image("samples", np.zeros((4, 6, 3), np.uint8), 3)
    writer.close()
    acc = EventAccumulator(str(tmp_path), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("epoch_loss")] == [(3, 0.5)]
    assert [(e.step, e.width, e.height) for e in acc.Images("samples")] == [(3, 6, 4)]
    # Our hand-written checksum is TFRecord's.
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as reference

    from keras_genart.callbacks.summaries import masked_crc32c

    for data in (b"", b"a", bytes(range(256)) * 3):
        assert masked_crc32c(data) == reference(data)


def test_image_grid_uses_fixed_latents(tiny_data, tmp_path):
    model = _model()
    cb = ImageGridCallback(None, n=2, seed=9)
    cb.set_model(model)
    cb.on_train_begin()
    from keras_genart.latents import sample_latents

    np.testing.assert_array_equal(cb._latents, sample_latents(2, model.latent_dim, 9))


def test_checkpoint_is_atomic_and_points_at_complete_file(tiny_data, tmp_path):
    model = _model()
    ckpt = ResumableCheckpoint(tmp_path / "ckpt")
    model.fit(tiny_data, epochs=3, steps_per_epoch=1, verbose=0, callbacks=[ckpt])
    state = read_checkpoint_state(tmp_path / "ckpt")
    assert state["epoch"] == 3 and state["path"].endswith("epoch-0003.keras")
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["epoch-0003.keras", "state.json"]

    # A save that dies half-way leaves the previous file intact and no temp file.
    target = tmp_path / "ckpt" / "epoch-0003.keras"
    before = target.read_bytes()

    class Exploding:
        def save(self, path):
            with open(path, "wb") as f:
                f.write(b"half")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        save_model_atomically(Exploding(), target)
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["epoch-0003.keras", "state.json"]


def _repeat(images, batch):
    while True:
        for start in range(0, len(images), batch):
            yield (images[start:start + batch],)


def test_nan_loss_stops_with_a_message(tmp_path):
    model = _model()
    ckpt_dir = tmp_path / "ckpt"
    images = np.zeros((8, 16, 16, 3), "float32")
    good = _repeat(images, 4)
    model.fit(good, epochs=1, steps_per_epoch=1, verbose=0,
              callbacks=[ResumableCheckpoint(ckpt_dir)])
    bad = _repeat(images + np.nan, 4)
    with pytest.raises(NonFiniteLossError) as info:
        model.fit(bad, epochs=3, initial_epoch=1, steps_per_epoch=2, verbose=0,
                  callbacks=[NonFiniteLossGuard(ckpt_dir), ResumableCheckpoint(ckpt_dir)])
    message = str(info.value)
    assert "d_loss is nan at epoch 2, step 1" in message
    assert f"last good weights (epoch 1) are in {ckpt_dir}" in message
    # The bad epoch was not checkpointed.
    assert json.loads((ckpt_dir / "state.json").read_text())["epoch"] == 1
