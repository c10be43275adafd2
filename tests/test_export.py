import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_genart.errors import ExportError, UserInputError
from keras_genart.export import export_model, read_metadata
from keras_genart.export.metadata import sha256_file
from keras_genart.latents import sample_latents
from tests.conftest import _tiny_trained

QUIET = dict(log=lambda *_: None)


def test_layout_and_metadata(exported):
    version_dir = exported["version_dir"]
    assert version_dir == os.path.join(exported["root"], "dcgan", "1")
    files = set(os.listdir(version_dir))
    assert {"saved_model.pb", "variables", "model.onnx", "metadata.json"} <= files
    metadata = read_metadata(version_dir)
    assert metadata["model_type"] == "dcgan" and metadata["latent_dim"] == 8
    assert metadata["image_size"] == 16 and metadata["channels"] == 3
    assert metadata["value_range"] == [0.0, 1.0] and metadata["gray"] is False
    assert metadata["signatures"] == ["serving_default", "render"]
    assert {"keras_genart", "keras", "tensorflow", "tf2onnx"} <= set(metadata["versions"])
    assert "default_rng(seed)" in metadata["latent_recipe"]
    for rel, digest in metadata["sha256"].items():
        assert sha256_file(os.path.join(version_dir, rel)) == digest
    assert {"model.onnx", "saved_model.pb"} <= set(metadata["sha256"])
    parity = metadata["parity_max_abs_diff"]
    assert set(parity) == {"savedmodel", "savedmodel:render", "onnx"}
    assert max(parity["savedmodel"], parity["onnx"]) <= 1e-4
    assert parity["savedmodel:render"] <= 1 / 255


def test_saved_model_cli_shows_our_signatures(exported):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    out = subprocess.run([cli, "show", "--dir", exported["version_dir"], "--all"],
                         capture_output=True, text=True, check=True).stdout
    default = out.split("signature_def['serving_default']:")[1]
    assert "inputs['z'] tensor_info:" in default
    assert "dtype: DT_FLOAT\n        shape: (-1, 8)" in default
    assert "outputs['images'] tensor_info:" in default
    assert "shape: (-1, 16, 16, 3)" in default
    render = out.split("signature_def['render']:")[1].split("signature_def[")[0]
    assert "inputs['z']" in render and "outputs['images_bytes']" in render
    assert "dtype: DT_STRING" in render
    assert "output_0" not in out and "inputs['inputs']" not in out


def test_signatures_match_keras(exported):
    loaded = tf.saved_model.load(exported["version_dir"])
    z = sample_latents(5, 8, seed=3)
    images = loaded.signatures["serving_default"](z=tf.constant(z))["images"].numpy()
    expected = exported["model"].generate(5, seed=3)
    assert images.shape == (5, 16, 16, 3)
    assert np.abs(images - expected).max() <= 1e-5
    pngs = loaded.signatures["render"](z=tf.constant(z[:2]))["images_bytes"].numpy()
    import io

    picture = np.asarray(Image.open(io.BytesIO(pngs[1])))
    assert picture.shape == (16, 16, 3)
    assert np.abs(picture / 255.0 - expected[1]).max() <= 1 / 255 + 1e-6


def test_onnx_dynamic_batch_and_names(exported):
    import onnxruntime as ort

    session = ort.InferenceSession(os.path.join(exported["version_dir"], "model.onnx"))
    assert [i.name for i in session.get_inputs()] == ["z"]
    assert [o.name for o in session.get_outputs()] == ["images"]
    assert session.get_inputs()[0].shape == ["batch", 8]
    for n in (1, 7):
        z = sample_latents(n, 8, seed=n)
        out = session.run(["images"], {"z": z})[0]
        assert out.shape == (n, 16, 16, 3)
        assert np.abs(out - exported["model"].generate_from_latents(z)).max() <= 1e-4


def test_versions_increment_and_are_never_overwritten(exported, tmp_path):
    root = tmp_path / "models"
    model = exported["model"]
    assert export_model(model, root, name="art", formats=["onnx"], **QUIET)["version"] == 1
    second = export_model(model, root, name="art", formats=["onnx"], **QUIET)
    assert second["version"] == 2 and second["formats"] == ["onnx"]
    assert not os.path.exists(os.path.join(second["path"], "saved_model.pb"))
    with pytest.raises(UserInputError, match="version 2 of 'art' already exists.*--force"):
        export_model(model, root, name="art", version=2, **QUIET)
    export_model(model, root, name="art", version=2, force=True, formats=["onnx"], **QUIET)
    assert sorted(os.listdir(root / "art")) == ["1", "2"]  # no temporary folder left


@pytest.mark.parametrize("exchange", [True, False])
def test_force_never_leaves_the_version_missing(tmp_path, monkeypatch, exchange):
    import threading

    from keras_genart.export import exporter

    if not exchange:  # the fallback for systems without renameat2
        monkeypatch.setattr(exporter, "_rename_exchange", lambda a, b: False)
    final = tmp_path / "art" / "1"
    final.mkdir(parents=True)
    (final / "metadata.json").write_text("0")
    seen, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            try:
                seen.append((final / "metadata.json").read_text())
            except FileNotFoundError:
                seen.append(None)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for i in range(1, 31):
            new = tmp_path / "art" / f".tmp-1-{i}"
            new.mkdir()
            (new / "metadata.json").write_text(str(i))
            exporter.replace_dir(str(new), str(final))
    finally:
        stop.set()
        watcher.join()
    assert (final / "metadata.json").read_text() == "30"
    assert sorted(os.listdir(tmp_path / "art")) == ["1"]  # old versions removed
    if exchange:
        assert None not in seen and len(set(seen)) > 1
    exporter.replace_dir(str(tmp_path / "art" / "1"), str(tmp_path / "art" / "2"))  # a move
    assert sorted(os.listdir(tmp_path / "art")) == ["2"]


def test_parity_failure_exports_nothing(exported, tmp_path, monkeypatch):
    import keras_genart.export.onnx as onnx_export

    real = onnx_export.run_onnx
    monkeypatch.setattr(onnx_export, "run_onnx",
                        lambda path, z, labels=None: real(path, z, labels) + 1e-3)
    with pytest.raises(ExportError, match=r"onnx output differs from Keras by 0.001 .*the limit is 0.0001\); nothing was exported"):
        export_model(exported["model"], tmp_path, name="bad", **QUIET)
    assert not os.path.exists(tmp_path / "bad")  # no empty model folder either


def test_a_wrong_render_signature_exports_nothing(exported, tmp_path, monkeypatch):
    real = tf.io.encode_png
    monkeypatch.setattr(tf.io, "encode_png", lambda pixels: real(pixels // 2))  # dark PNGs
    with pytest.raises(ExportError, match=r"savedmodel:render output differs from Keras by .*"
                                          r"the limit is 0.00392"):
        export_model(exported["model"], tmp_path, name="bad", formats=["savedmodel"], **QUIET)
    assert not os.path.exists(tmp_path / "bad")


def test_missing_onnx_packages_are_one_line_and_leave_no_folder(exported, tmp_path,
                                                                monkeypatch, capsys):
    import sys

    from keras_genart.cli import main

    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # import tf2onnx -> ImportError
    exported["model"].save(tmp_path / "m.keras")
    out = tmp_path / "out"
    assert main(["export", str(tmp_path / "m.keras"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "ONNX export needs tf2onnx, which is not installed here; `pip install " \
        "keras_genart` brings it" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("name", ["../evil", "a/b", "a b", ".hidden", ".."])
def test_bad_names_are_refused(exported, tmp_path, name):
    with pytest.raises(UserInputError, match="model name .* is not allowed"):
        export_model(exported["model"], tmp_path, name=name, **QUIET)


def test_vae_gets_encode_and_reconstruct(tmp_path):
    model = _tiny_trained("vae", tmp_path / "vae.keras")
    metadata = export_model(str(tmp_path / "vae.keras"), tmp_path / "out", **QUIET)
    assert metadata["name"] == "vae"
    assert metadata["signatures"] == ["serving_default", "render", "encode", "reconstruct"]
    parity = metadata["parity_max_abs_diff"]  # every signature was checked at export
    assert {"savedmodel:encode", "savedmodel:reconstruct", "savedmodel:render"} <= set(parity)
    assert parity["savedmodel:encode"] <= 1e-4 and parity["savedmodel:reconstruct"] <= 1e-4
    loaded = tf.saved_model.load(metadata["path"])
    images = model.generate(3, seed=0)
    mean = loaded.signatures["encode"](images=tf.constant(images))["mean"].numpy()
    expected_mean, _ = model.encode(images * 2 - 1)
    assert np.abs(mean - np.asarray(expected_mean)).max() <= 1e-5
    recon = loaded.signatures["reconstruct"](images=tf.constant(images))["images"].numpy()
    assert recon.shape == images.shape and 0 <= recon.min() and recon.max() <= 1
    # encoder.onnx: vary and reconstruct without TensorFlow, as Keras does them.
    assert parity["onnx:encoder"] <= 1e-4
    from keras_genart.serving import Generator

    generator = Generator(metadata["path"])
    assert generator.class_names is None
    expected = model.vary(images[0], n=3, seed=2, spread=0.7)
    assert np.abs(generator.vary(images[0], n=3, seed=2, spread=0.7) / 255.0
                  - expected).max() <= 1 / 255 + 1e-6
    mean, log_var = generator.encode(images)
    assert np.abs(mean - np.asarray(expected_mean)).max() <= 1e-4
    with pytest.raises(ValueError, match="takes no labels"):
        generator.vary(images[0], label=1)


def test_ema_models_export_the_moving_average(tmp_path):
    import onnxruntime as ort

    from keras_genart.models import build_model

    # A gray generator too: its one channel, copied into three, exports alike.
    model = build_model("dcgan", image_size=16, latent_dim=8, base_width=8, seed=0,
                        ema=0.5, upsampling="resize", gray=True)
    model.compile()
    batch = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    model.train_on_batch(batch)
    # An average clearly apart from the raw generator, so that the check can fail.
    for average in model.ema_generator.weights:
        if "kernel" in average.path:
            average.assign(np.asarray(average) * 0.7)
    z = sample_latents(3, 8, seed=4)
    average = model.generate_from_latents(z)  # with the average's own batch-norm statistics
    raw = np.clip((np.asarray(model.generator(z, training=False)) + 1) / 2, 0, 1)
    assert np.abs(average - raw).max() > 1e-2
    metadata = export_model(model, tmp_path / "out", **QUIET)
    session = ort.InferenceSession(os.path.join(metadata["path"], "model.onnx"))
    onnx_images = session.run(None, {"z": z})[0]
    assert np.abs(onnx_images - average).max() <= 1e-4
    assert metadata["gray"] and np.array_equal(onnx_images[..., 0], onnx_images[..., 2])
    served = tf.saved_model.load(metadata["path"]).signatures["serving_default"](
        z=tf.constant(z))["images"].numpy()
    assert np.abs(served - average).max() <= 1e-4


def test_cli_export_from_run_folder(tmp_path):
    from keras_genart.cli import main

    run = tmp_path / "run"
    assert main(["train", "dcgan", "--data", "builtin:abstract:16", "--image-size", "16",
                 "--batch-size", "4", "--latent-dim", "8", "--base-width", "8", "--epochs", "1",
                 "--steps-per-epoch", "1", "--run-dir", str(run), "--quiet"]) == 0
    assert main(["export", str(run), "--out", str(tmp_path / "out"), "--name", "mine",
                 "--formats", "onnx", "--opset", "15"]) == 0
    metadata = json.loads((tmp_path / "out" / "mine" / "1" / "metadata.json").read_text())
    assert metadata["onnx"]["opset"] == 15
    assert metadata["class_names"][0] == "bauhaus"
    assert metadata["training_data"]["num_images"] == 16
    assert metadata["training_config"]["model"]["type"] == "dcgan"
    assert main(["export", str(run), "--out", str(tmp_path / "out"), "--name", "mine",
                 "--version", "1"]) == 2
