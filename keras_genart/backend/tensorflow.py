"""TensorFlow: gradients with `tf.GradientTape`, replicas from `tf.distribute`."""

import tensorflow as tf


def train_step(model, data):
    """What `fit` calls: the model's `keras.ops` step, run as it is."""
    logs = model.compute_step(data)
    if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        # Keras reduces multi-worker logs with `reduce("MEAN", axis=0)`,
        # which needs a batch axis: give each (scalar) log one.
        logs = {name: tf.reshape(value, (1,)) for name, value in logs.items()}
    return logs


def minimize(optimizer, variables, loss_fn):
    """One optimizer step on `loss_fn() -> (loss, aux)`; returns `(loss, aux)`.

    The loss is scaled by `optimizer.scale_loss` (a `LossScaleOptimizer`
    scales it for float16 and unscales the gradients in `apply`).
    """
    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
        scaled = optimizer.scale_loss(loss)
    gradients = tape.gradient(scaled, variables)
    optimizer.apply(gradients, variables)
    return loss, aux


def gradient_wrt_inputs(fn, inputs):
    """Gradient of `sum(fn(inputs))` with respect to `inputs` (differentiable)."""
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = fn(inputs)
    return tape.gradient(outputs, inputs)


def num_replicas():
    """Replicas that share a global batch (1 outside `tf.distribute`)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def replica_id():
    """Index of the replica running this step (0 outside `tf.distribute`)."""
    context = tf.distribute.get_replica_context()
    return 0 if context is None else context.replica_id_in_sync_group


def default_jit_compile():
    """XLA, except under a `tf.distribute` strategy.

    XLA was 0.9x as fast as the plain step on one CPU kind and 1.9x on
    another (README's throughput table), so it is on by default. Under
    `MirroredStrategy` the XLA-compiled custom step fails to place the
    replicas' variables, so replicated training runs without it.
    """
    return not tf.distribute.has_strategy()


def multi_worker():
    """True when `TF_CONFIG` names a cluster of more than one task."""
    import json
    import os

    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    return sum(len(tasks) for tasks in config.get("cluster", {}).values()) > 1


def is_chief():
    """Whether this process writes the run's files (worker 0, or a task named chief)."""
    import json
    import os

    task = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {})
    return task.get("type", "chief") == "chief" or (
        task.get("type") == "worker" and int(task.get("index", 0)) == 0
        and "chief" not in json.loads(os.environ["TF_CONFIG"]).get("cluster", {}))


def data_parallel(devices):
    """A `MirroredStrategy` scope over `devices` GPUs, or logical CPUs where there are none.

    With a `TF_CONFIG` that names several workers: a
    `MultiWorkerMirroredStrategy` over them (each uses its own GPUs, or its CPU).
    """
    from keras_genart.errors import UserInputError

    if multi_worker():
        return tf.distribute.MultiWorkerMirroredStrategy().scope()

    # Physical devices: listing logical ones would initialise the runtime,
    # after which the CPU can no longer be split.
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        if len(gpus) < devices:
            raise UserInputError(
                f"--devices {devices}: TensorFlow sees {len(gpus)} GPU(s) "
                f"({', '.join(d.name for d in gpus)})")
        names = [d.name for d in tf.config.list_logical_devices("GPU")[:devices]]
    else:
        cpus = tf.config.list_physical_devices("CPU")
        try:
            tf.config.set_logical_device_configuration(
                cpus[0], [tf.config.LogicalDeviceConfiguration()] * devices)
        except RuntimeError as e:  # TensorFlow already initialised its devices
            logical = tf.config.list_logical_devices("CPU")
            if len(logical) < devices:
                raise UserInputError(
                    f"--devices {devices}: no GPU, and the CPU can no longer be split into "
                    f"{devices} logical devices in this process ({e}); start a new one") from e
        names = [d.name for d in tf.config.list_logical_devices("CPU")[:devices]]
    # Gradients are summed on one device rather than by collective all-reduce:
    # a step with two optimizers issues two all-reduces, which the CPU
    # collectives could pair across replicas in different orders.
    return tf.distribute.MirroredStrategy(
        names, cross_device_ops=tf.distribute.ReductionToOneDevice()).scope()
