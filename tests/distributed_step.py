"""One training step on 2 devices vs one device, in a fresh interpreter.

Run as `python -m tests.distributed_step [RUN_DIR]` with KERAS_BACKEND set
(and, for JAX on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count=2):
devices must be configured before the backend initialises. With RUN_DIR it
also runs `genart train ... --devices 2` into it, in the same interpreter (one
start-up for both checks). Prints one JSON line.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_genart import backend  # noqa: E402
from keras_genart.models import DCGAN, WGANGP  # noqa: E402
from keras_genart.networks import build_discriminator, build_generator  # noqa: E402

BATCH = 8


def _model(kind):
    # BatchNorm- and minibatch-std-free: their statistics are per replica by design.
    generator = build_generator(16, 8, base_width=8, normalization="none")
    critic = build_discriminator(16, base_width=8, normalization="none")
    if kind == "dcgan":  # with the joint update, R1 and the moving average
        model = DCGAN(generator, critic, seed=0, ema=0.9, shared_fakes=True, r1_weight=1.0,
                      r1_interval=1)
    else:  # alternating updates
        model = WGANGP(generator, critic, n_critic=2, seed=0)
    # XLA is off under MirroredStrategy; keep both sides on the same kernels.
    model.compile(jit_compile=keras.backend.backend() == "jax")
    return model


def _one_step(model, images):
    # fit, not train_on_batch: TensorFlow splits fit's batches over the
    # replicas, while train_on_batch hands every replica the whole batch.
    history = model.fit(images, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    return {k: v[-1] for k, v in history.history.items()}


def _replicas(model):
    """Devices the model's step runs on."""
    if keras.backend.backend() == "jax":
        return len(model.trainable_variables[0].value.sharding.device_set)
    return model.distribute_strategy.num_replicas_in_sync


def _weights(model):
    return [np.array(w) for w in model.get_weights()]


def main():
    images = np.random.default_rng(0).uniform(-1, 1, (BATCH, 16, 16, 3)).astype("float32")
    report = {"backend": keras.backend.backend()}
    backend.data_parallel(2)  # TensorFlow: split the CPU before anything initialises it
    for kind in ("dcgan", "wgan-gp"):
        single = _model(kind)
        start = _weights(single)
        single_logs = _one_step(single, images)
        with backend.data_parallel(2):
            replicated = _model(kind)
            replicated.set_weights(start)
            logs = _one_step(replicated, images)
            replicas = _replicas(replicated)
        difference = max(float(np.max(np.abs(a - b)))
                         for a, b in zip(_weights(single), _weights(replicated)))
        changed = max(float(np.max(np.abs(a - b))) for a, b in zip(start, _weights(single)))
        report[kind] = {"max_weight_difference": difference, "weights_moved": changed,
                        "replicas": replicas, "single_logs": single_logs, "logs": logs}
    if len(sys.argv) > 1:
        from keras_genart.cli import main as genart

        report["cli_returncode"] = genart(
            ["train", "dcgan", "--backend", keras.backend.backend(), "--devices", "2",
             "--data", "builtin:mondrian:16", "--image-size", "16", "--batch-size", "4",
             "--epochs", "1", "--steps-per-epoch", "2", "--latent-dim", "8",
             "--base-width", "8", "--run-dir", sys.argv[1], "--quiet"])
    print(json.dumps(report, default=float))


if __name__ == "__main__":
    main()
