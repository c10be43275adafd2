"""One training step on 2 devices vs one device, in a fresh interpreter.

Run as `python -m tests.distributed_step [RUN_DIR]` with KERAS_BACKEND set
(and, for JAX on a CPU, XLA_FLAGS=--xla_force_host_platform_device_count=2):
devices must be configured before the backend initialises. With RUN_DIR it
also runs `genart train ... --devices 2` into it, in the same interpreter (one
start-up for both checks). Prints one JSON line.

`python -m tests.distributed_step --process GENART_TRAIN_ARGS...`, in each
process of a cluster: runs `genart train` and prints one JSON line of what
this process trained on and ended with (`process_report`).
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


def _record_trained_pictures(steps):
    """Appends, for each training step, the sums of the real pictures this process
    trains on to `steps` (a picture's sum tells pictures apart).

    TensorFlow splits each global batch over the workers inside the step: recorded
    there. JAX assembles the global batch from each process's slice: recorded as fed.
    """
    from keras_genart import data
    from keras_genart.models.generative import GenerativeModel

    def sums(images):
        return np.round(np.asarray(images, np.float64).reshape(len(images), -1).sum(1),
                        3).tolist()

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        real_images = GenerativeModel._real_images

        def recorded(self, batch):
            images = real_images(self, batch)
            tf.py_function(lambda x: steps.append(sums(x.numpy())) or 0, [images], tf.int32)
            return images

        GenerativeModel._real_images = recorded
    else:
        make_dataset = data.make_dataset

        def recorded(*args, **kwargs):
            for batch in make_dataset(*args, **kwargs):
                steps.append(sums(batch[0]))
                yield batch

        data.make_dataset = recorded


def process_report(args):
    """`genart train ARGS` in this process of a cluster: its return code, the pictures
    it trained on (step by step), its replica count and a digest of its weights."""
    import hashlib

    from keras_genart import runs
    from keras_genart.cli import main as genart

    steps, trained = [], []
    _record_trained_pictures(steps)
    train = runs.train
    runs.train = lambda *a, **k: trained.append(train(*a, **k)) or trained[-1]
    report = {"returncode": genart(args), "steps": steps}
    if trained:
        model = trained[0]
        digest = hashlib.sha256()
        # The trained weights and the network that draws the pictures. The raw
        # generator's batch-norm statistics are left out: under TensorFlow each worker
        # keeps its own (Keras' BatchNormalization is not synchronised).
        for weight in model.trainable_weights + model.sampling_generator.weights:
            digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
        report.update(weights=digest.hexdigest(), replicas=_replicas(model))
    return report


if __name__ == "__main__":
    if sys.argv[1:2] == ["--process"]:
        print(json.dumps(process_report(sys.argv[2:])))
    else:
        main()
