"""The only part of keras_genart that knows the Keras backend.

Training logic is written once in `keras.ops` (see `GenerativeModel.compute_step`);
each backend module supplies the few things that differ: how one optimizer
step takes gradients, a gradient with respect to inputs, how `fit`'s
`train_step` is called, and the replica count and index of the running step.
"""

import importlib

SUPPORTED_BACKENDS = ("tensorflow", "jax")


def name():
    """The Keras backend in use (`KERAS_BACKEND`)."""
    import keras

    return keras.backend.backend()


def current():
    """The module of the backend in use: `keras_genart.backend.tensorflow` or `.jax`."""
    backend = name()
    if backend not in SUPPORTED_BACKENDS:
        from keras_genart.errors import UserInputError

        raise UserInputError(
            f"keras_genart trains with KERAS_BACKEND={' or '.join(SUPPORTED_BACKENDS)}, "
            f"not {backend!r}")
    return importlib.import_module(f"keras_genart.backend.{backend}")


class OptimizerGroup:
    """Several optimizers seen as one by Keras' trainer and callbacks.

    A GAN has one optimizer per network. Keras' JAX trainer carries
    `model.optimizer.variables` through its stateless step, and callbacks read
    `model.optimizer.iterations` and (for learning rates)
    `model.optimizer.optimizers`; this object gives them all of a model's
    optimizers at once. It is not saved: the optimizers it groups are saved
    as the model's own attributes.

    Args:
        optimizers: list of `keras.optimizers.Optimizer`. The first one's
            `iterations` counts the model's steps.
    """

    built = True

    def __init__(self, optimizers):
        self.optimizers = list(optimizers)

    @property
    def variables(self):
        return [v for optimizer in self.optimizers for v in optimizer.variables]

    @property
    def iterations(self):
        return self.optimizers[0].iterations

    @property
    def name(self):
        return "+".join(o.name for o in self.optimizers)

    def build(self, variables=None):
        """Nothing to do: each optimizer is built on its own network in `compile`."""

    def finalize_variable_values(self, variables):
        """Nothing to do: no grouped optimizer uses Keras' EMA."""


def data_parallel(devices):
    """A context in which to build, compile and `fit` a model on `devices` devices.

    TensorFlow: a `tf.distribute.MirroredStrategy` scope over the first
    `devices` GPUs (on a machine without GPUs, the CPU split into that many
    logical devices: for testing, not speed). JAX: a
    `keras.distribution.DataParallel` scope over the first `devices` of
    `jax.devices()` (on a CPU, start Python with
    `XLA_FLAGS=--xla_force_host_platform_device_count=N`). One device: a
    context that does nothing. Several machines (or processes): TensorFlow
    reads the cluster from `TF_CONFIG` and uses a
    `tf.distribute.MultiWorkerMirroredStrategy`; JAX reads Keras'
    `KERAS_DISTRIBUTION_JOB_ADDRESSES` / `_NUM_PROCESSES` / `_PROCESS_ID`.
    Each process then trains on its first `devices` devices (a TensorFlow
    worker without GPUs on its CPU: one device), so the global batch is split
    over `process_count() * devices` replicas. Every process runs the same
    command, and only the chief writes the run's files.

    Args:
        devices: int. Number of devices (of each process); the global batch
            is split over them.

    Example:
    >>> with data_parallel(2):
    ...     model = build_model("dcgan")
    ...     model.compile()
    ...     model.fit(make_dataset(data, 64), steps_per_epoch=100)
    """
    import contextlib

    if int(devices) < 1:
        from keras_genart.errors import UserInputError

        raise UserInputError(f"devices must be at least 1, got {devices}")
    module = current()
    if int(devices) == 1 and not module.multi_worker():
        return contextlib.nullcontext()
    return module.data_parallel(int(devices))


def process_count():
    """Processes that train one run together (1 outside a cluster), read from the
    environment without starting the backend."""
    return current().process_count()


def process_shard():
    """`(index, count)` of this process's slice of each global batch (`(0, 1)` mostly)."""
    return current().process_shard()


def is_chief():
    """Whether this process writes a run's files: always, except on workers 1.. of a cluster."""
    return current().is_chief()
