"""TensorFlow: gradients with `tf.GradientTape`, replicas from `tf.distribute`."""

import tensorflow as tf

# XLA differentiates a `cond` (lazy R1) only when the batch size is known.
XLA_COND_NEEDS_STATIC_BATCH = True


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


def minimize_jointly(steps, loss_fn):
    """One step of several optimizers from one forward pass; returns `(losses, aux)`.

    Args:
        steps: list of `(optimizer, variables)`.
        loss_fn: callable `() -> (losses, aux)`, one loss per step. Every
            gradient is taken before any optimizer applies its own.
    """
    with tf.GradientTape(persistent=True) as tape:
        losses, aux = loss_fn()
        scaled = [optimizer.scale_loss(loss) for (optimizer, _), loss in zip(steps, losses)]
    gradients = [tape.gradient(loss, variables) for loss, (_, variables) in zip(scaled, steps)]
    del tape
    for (optimizer, variables), grads in zip(steps, gradients):
        optimizer.apply(grads, variables)
    return losses, aux


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


# A fit at least this long on a CPU measures XLA against plain graph mode first.
MEASURE_JIT_MIN_STEPS = 1000
MEASURED_STEPS = 10


def resolve_jit_compile(model, jit_compile):
    """What `jit_compile="auto"` means at `compile` time; sets `model._jit_to_measure`.

    GPUs: XLA. Under a `tf.distribute` strategy: no XLA (the XLA-compiled
    custom step fails to place the replicas' variables). CPUs: graph mode,
    and a long `fit` first times a few steps both ways and keeps the faster
    (`choose_jit_compile`): XLA was 0.4x as fast as graph mode for the demo's
    DCGAN on one CPU kind and 1.9x for the reference DCGAN on another.
    """
    model._jit_to_measure = False
    if jit_compile != "auto":
        return jit_compile
    if tf.distribute.has_strategy():
        return False
    if tf.config.list_physical_devices("GPU"):
        return True
    model._jit_to_measure = True
    return False


def _peek(x):
    """`(first batch, x)` with x still yielding every batch; `(None, x)` if unknown."""
    import inspect

    if inspect.isgenerator(x):
        first = next(x)

        def chained():
            yield first
            yield from x

        return first, chained()
    if isinstance(x, tf.data.Dataset):
        return next(iter(x)), x
    return None, x


def fit_input(x):
    """A generator of batches as the `tf.data.Dataset` that `fit` reads, without autotuning.

    Keras wraps a generator in `tf.data` itself, with tf.data's autotuning
    on. Deleting such an iterator at the end of `fit` waits for the
    autotuning thread's next wake-up, and that thread sleeps longer the longer
    the iterator has lived (up to 60 s): on this project's 2-core Xeon a
    60-step `fit` spent 8-9 s after its last step in most calls, a 10-step one
    0.5 s (`benchmarks/fit_end_wait.py`). The same pipeline with autotuning off
    (a fixed one-batch prefetch) returns at once and trains as fast. Anything
    but a generator of tuples of arrays is returned as it is, for Keras to
    take or to refuse with its own message.
    """
    import inspect

    if not inspect.isgenerator(x):
        return x
    try:
        first = next(x)
    except StopIteration:
        return iter(())

    def batches():
        # Not `yield from x`: tf.data closes this generator when fit's iterator
        # goes, and that must not close the caller's generator too.
        yield first
        for batch in x:
            yield batch

    try:
        if not isinstance(first, tuple):
            raise TypeError("fit wants tuples")
        # The batch size may change from batch to batch (a last, short batch);
        # every other dimension is the first batch's, as Keras assumes too.
        signature = tf.nest.map_structure(_batch_spec, first)
    except (TypeError, ValueError):
        return batches()
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature).prefetch(1)
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def _batch_spec(array):
    tensor = tf.convert_to_tensor(array)
    if tensor.shape.rank == 0:
        return tf.TensorSpec((), tensor.dtype)
    return tf.TensorSpec((None,) + tuple(tensor.shape[1:]), tensor.dtype)


def choose_jit_compile(model, x, fit_kwargs, log=print):
    """Before a long CPU `fit`: times graph mode and XLA on its first batch, keeps the faster.

    The model's state (weights, optimizer and seed-generator states) is put
    back afterwards, so the measurement changes nothing but `jit_compile`.
    Returns `x`, still yielding every batch.
    """
    import time

    model._jit_to_measure = False
    steps, epochs = fit_kwargs.get("steps_per_epoch"), fit_kwargs.get("epochs", 1)
    if steps is None or (epochs - fit_kwargs.get("initial_epoch", 0)) * steps \
            < MEASURE_JIT_MIN_STEPS:
        return x
    batch, x = _peek(x)
    if batch is None:
        return x
    batch = batch if isinstance(batch, tuple) else (batch,)

    def repeated():
        while True:
            yield batch

    variables = list(model.variables) + list(model.optimizer.variables)
    saved = [v.numpy() for v in variables]
    timings = {}
    for jit in (False, True):
        try:
            # Through fit itself, so that its input path is timed too
            # (_jit_to_measure is off now: these fits don't measure again).
            model.jit_compile = jit
            model.make_train_function(force=True)
            model.fit(repeated(), epochs=1, steps_per_epoch=2, verbose=0,
                      shuffle=False)  # trace and compile
            start = time.perf_counter()
            model.fit(repeated(), epochs=1, steps_per_epoch=MEASURED_STEPS, verbose=0,
                      shuffle=False)
            timings[jit] = (time.perf_counter() - start) / MEASURED_STEPS
        except Exception as e:
            if not jit:  # graph mode itself fails: let the real fit say why
                break
            # A layer XLA cannot compile: graph mode.
            log(f"keras_genart: XLA did not compile this model ({type(e).__name__}); "
                "training without it")
            break
        finally:
            for variable, value in zip(variables, saved):
                variable.assign(value)
    use_xla = True in timings and timings[True] < timings[False]
    model.jit_compile = use_xla
    model.make_train_function(force=True)
    model.reset_metrics()
    if True in timings:
        log(f"keras_genart: jit_compile='auto' measured {timings[False] * 1000:.0f} ms/step "
            f"in graph mode and {timings[True] * 1000:.0f} ms/step with XLA on this CPU; "
            f"training {'with' if use_xla else 'without'} XLA")
    model.jit_compile_timings = {("xla" if k else "graph"): v for k, v in timings.items()}
    return x


def _tf_config():
    import json
    import os

    return json.loads(os.environ.get("TF_CONFIG") or "{}")


def multi_worker():
    """True when `TF_CONFIG` names a cluster of more than one task."""
    return sum(len(tasks) for tasks in _tf_config().get("cluster", {}).values()) > 1


def is_chief():
    """Whether this process writes the run's files (worker 0, or a task named chief)."""
    config = _tf_config()
    task = config.get("task", {})
    return task.get("type", "chief") == "chief" or (
        task.get("type") == "worker" and int(task.get("index", 0)) == 0
        and "chief" not in config.get("cluster", {}))


def process_count():
    """The tasks that train in `TF_CONFIG`'s cluster (its chief and workers), or 1."""
    cluster = _tf_config().get("cluster", {})
    return max(1, len(cluster.get("chief", [])) + len(cluster.get("worker", [])))


def process_shard():
    """`(0, 1)`: `tf.distribute` splits each worker's batches itself."""
    return 0, 1


def _gpus(devices):
    """This machine's GPUs; a UserInputError when there are some, but fewer than `devices`."""
    from keras_genart.errors import UserInputError

    # Physical devices: listing logical ones would initialise the runtime,
    # after which the CPU can no longer be split nor the GPUs chosen.
    gpus = tf.config.list_physical_devices("GPU")
    if gpus and len(gpus) < devices:
        raise UserInputError(
            f"--devices {devices}: TensorFlow sees {len(gpus)} GPU(s) "
            f"({', '.join(d.name for d in gpus)})")
    return gpus


def _worker_strategy(devices):
    """A `MultiWorkerMirroredStrategy` over this worker's first `devices` GPUs (its CPU
    without GPUs: one device); it would take every GPU it sees."""
    from keras_genart.errors import UserInputError

    gpus = _gpus(devices)
    if not gpus and devices > 1:
        raise UserInputError(
            f"--devices {devices}: this worker of the TensorFlow cluster has no GPU, and a "
            "worker trains on its CPU as one device; pass --devices 1")
    if len(gpus) > devices:
        try:
            tf.config.set_visible_devices(gpus[:devices], "GPU")
        except RuntimeError as e:  # TensorFlow already initialised its devices
            raise UserInputError(
                f"--devices {devices}: TensorFlow already uses this worker's "
                f"{len(gpus)} GPUs and can no longer be limited to {devices} in this "
                f"process ({e}); start a new one") from e
    return tf.distribute.MultiWorkerMirroredStrategy()


def data_parallel(devices):
    """A `MirroredStrategy` scope over `devices` GPUs, or logical CPUs where there are none.

    With a `TF_CONFIG` that names several workers: a
    `MultiWorkerMirroredStrategy` over them, each on its first `devices` GPUs
    (or its CPU).
    """
    from keras_genart.errors import UserInputError

    if multi_worker():
        return _worker_strategy(devices).scope()

    gpus = _gpus(devices)
    if gpus:
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
