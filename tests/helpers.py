"""Shared checks that every keras_genart model must pass (cf. keras-hub's run_backbone_test)."""

import json
import socket
import threading
import time

import keras
import numpy as np

TINY = dict(image_size=16, latent_dim=8, base_width=8, max_width=16)


def _values(variables):
    return [np.array(v.numpy()) for v in variables]


def _max_difference(a, b):
    return max(float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64))))
               for x, y in zip(a, b))


def run_model_checks(make_model, dataset, tmp_path, steps=2):
    """Config round trip, fit changes weights, save -> load -> continue, generate.

    Args:
        make_model: callable returning a fresh, uncompiled model.
        dataset: a repeated `tf.data.Dataset` of training batches.
        tmp_path: pathlib.Path for the saved file.
    """
    model = make_model()
    model.compile()

    # Config: JSON round trip gives an equal config and a working model.
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(model)))
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(model)
    assert clone.get_config()["latent_dim"] == model.latent_dim
    assert json.dumps(clone.get_config(), sort_keys=True) == json.dumps(
        model.get_config(), sort_keys=True)
    assert len(clone.trainable_variables) == len(model.trainable_variables)

    # fit: every tracker reported, finite; the generator's weights changed.
    before = _values(model.generator.trainable_variables)
    history = model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    assert set(history.history) == {m.name for m in model.metrics}
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert _max_difference(before, _values(model.generator.trainable_variables)) > 0

    # .keras save -> load: same class, weights, optimizer state; identical next step.
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    for name in model.optimizer_names:
        original, restored = getattr(model, name), getattr(loaded, name)
        assert int(restored.iterations) == int(original.iterations) > 0
        assert _max_difference(_values(original.variables), _values(restored.variables)) == 0
    assert _max_difference(_values(model.variables), _values(loaded.variables)) == 0
    batch = next(iter(dataset))
    model.train_on_batch(batch)
    loaded.train_on_batch(batch)
    assert _max_difference(_values(model.variables), _values(loaded.variables)) == 0

    # generate: shape, range, determinism for a seed, difference across seeds.
    images = loaded.generate(3, seed=5)
    size, channels = loaded.image_size, loaded.channels
    assert images.shape == (3, size, size, channels)
    assert images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, loaded.generate(3, seed=5))
    assert not np.array_equal(images, loaded.generate(3, seed=6))
    return loaded


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(app):
    """`(uvicorn.Server, its thread, port)`, serving `app` on 127.0.0.1 once started."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    return server, thread, port
