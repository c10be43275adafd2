"""JAX: a stateless training step that carries every optimizer's and RNG's state.

Keras' JAX trainer calls `train_step(state, data)` with the values of the
model's trainable, non-trainable (which include every `SeedGenerator`'s
state), optimizer and metric variables, and expects the new values back. Here
the whole `keras.ops` step of the model runs in one `keras.StatelessScope`
that maps those variables to the values; each optimizer step differentiates a
loss with `jax.grad` in a child scope and writes the results back with the
optimizer's `stateless_apply`. `model.optimizer` is a
`keras_genart.backend.OptimizerGroup` for models with several optimizers, so
the trainer carries the state of all of them.

Under `keras.distribution.DataParallel` the step is one SPMD program over the
global batch: there is one logical replica, and latents drawn for the batch
are already distinct across devices.
"""

import jax
from keras import StatelessScope
from keras.src.backend.common.stateless_scope import get_stateless_scope

# Every shape is static under jax.jit: a `cond` (lazy R1) always compiles.
XLA_COND_NEEDS_STATIC_BATCH = False


def _state_variables(model):
    return (model.trainable_variables, model.non_trainable_variables,
            model.optimizer.variables, model.metrics_variables)


def train_step(model, state, data):
    """What `fit` calls: `(logs, new_state)` from `state`, as Keras' trainer expects."""
    groups = _state_variables(model)
    mapping = [(variable, value) for variables, values in zip(groups, state)
               for variable, value in zip(variables, values)]
    with StatelessScope(state_mapping=mapping) as scope:
        logs = model.compute_step(data)
    new_state = tuple([scope.get_current_value(v) for v in variables] for variables in groups)
    return logs, new_state


def _scope():
    scope = get_stateless_scope()
    if scope is None:
        raise RuntimeError(
            "keras_genart's JAX step runs inside `fit` / `train_on_batch`; call those, "
            "not `compute_step` directly")
    return scope


def _run_in_child_scope(parent, overrides, fn):
    """Runs `fn()` seeing `parent`'s values with `overrides`; returns `(out, updates)`.

    `updates` maps variable ids to the values `fn` assigned (seed generator
    states, batch-norm statistics), for the caller to hand back to `parent`.
    """
    child = StatelessScope()
    child.state_mapping = dict(parent.state_mapping)
    overridden = set()
    for variable, value in overrides:
        child.state_mapping[id(variable)] = value
        overridden.add(id(variable))
    before = dict(child.state_mapping)
    with child:
        out = fn()
    updates = {key: value for key, value in child.state_mapping.items()
               if key not in overridden and before.get(key) is not value}
    return out, updates


def minimize(optimizer, variables, loss_fn):
    """One optimizer step on `loss_fn() -> (loss, aux)`; returns `(loss, aux)`."""
    parent = _scope()
    values = [parent.get_current_value(v) for v in variables]

    def scaled_loss(trainable_values):
        def run():
            loss, aux = loss_fn()
            return optimizer.scale_loss(loss), (loss, aux)

        (scaled, (loss, aux)), updates = _run_in_child_scope(
            parent, zip(variables, trainable_values), run)
        return scaled, (loss, aux, updates)

    gradients, (loss, aux, updates) = jax.grad(scaled_loss, has_aux=True)(values)
    parent.state_mapping.update(updates)
    _apply(parent, optimizer, variables, values, gradients)
    return loss, aux


def _apply(parent, optimizer, variables, values, gradients):
    """The optimizer's stateless step, written back to `parent` as updates."""
    optimizer_values = [parent.get_current_value(v) for v in optimizer.variables]
    new_values, new_optimizer_values = optimizer.stateless_apply(
        optimizer_values, gradients, values)
    for variable, value in zip(variables, new_values):
        parent.add_update((variable, value))
    for variable, value in zip(optimizer.variables, new_optimizer_values):
        parent.add_update((variable, value))


def minimize_jointly(steps, loss_fn):
    """One step of several optimizers from one forward pass; returns `(losses, aux)`.

    Args:
        steps: list of `(optimizer, variables)`.
        loss_fn: callable `() -> (losses, aux)`, one loss per step. One
            forward pass (`jax.vjp`), then one backward pass per loss, each
            keeping the gradients of its own variables.
    """
    parent = _scope()
    variables = [v for _, group in steps for v in group]
    values = [parent.get_current_value(v) for v in variables]

    def scaled_losses(trainable_values):
        def run():
            losses, aux = loss_fn()
            return ([optimizer.scale_loss(loss) for (optimizer, _), loss in zip(steps, losses)],
                    (losses, aux))

        (scaled, (losses, aux)), updates = _run_in_child_scope(
            parent, zip(variables, trainable_values), run)
        return scaled, (losses, aux, updates)

    scaled, backward, (losses, aux, updates) = jax.vjp(scaled_losses, values, has_aux=True)
    parent.state_mapping.update(updates)
    start = 0
    for i, (optimizer, group) in enumerate(steps):
        cotangent = [jax.numpy.ones_like(s) if j == i else jax.numpy.zeros_like(s)
                     for j, s in enumerate(scaled)]
        gradients = backward(cotangent)[0][start:start + len(group)]
        _apply(parent, optimizer, group, values[start:start + len(group)], gradients)
        start += len(group)
    return losses, aux


def gradient_wrt_inputs(fn, inputs):
    """Gradient of `sum(fn(inputs))` with respect to `inputs` (differentiable).

    Outside a training step (no stateless scope) the variables' own values
    are used and any updates `fn` makes are dropped.
    """
    parent = get_stateless_scope() or StatelessScope()

    def total(x):
        out, updates = _run_in_child_scope(parent, (), lambda: fn(x))
        return jax.numpy.sum(out), updates

    gradients, updates = jax.grad(total, has_aux=True)(inputs)
    parent.state_mapping.update(updates)
    return gradients


def num_replicas():
    """1: under JAX the step sees the global batch (one SPMD program)."""
    return 1


def replica_id():
    return 0


def resolve_jit_compile(model, jit_compile):
    """`"auto"` is always jit: an un-jitted JAX step runs op by op."""
    model._jit_to_measure = False
    return True if jit_compile == "auto" else jit_compile


def choose_jit_compile(model, x, fit_kwargs, log=print):
    return x


def fit_input(x):
    """Keras' JAX trainer reads Python generators directly: nothing to change."""
    return x


def data_parallel(devices):
    """A `keras.distribution.DataParallel` scope over the first `devices` JAX devices.

    Several processes (`KERAS_DISTRIBUTION_JOB_ADDRESSES`,
    `KERAS_DISTRIBUTION_NUM_PROCESSES`, `KERAS_DISTRIBUTION_PROCESS_ID`, read by
    `keras.distribution.initialize`): the first `devices` devices of every
    process, each process feeding its own slice of the global batch
    (`process_shard`).
    """
    import keras

    if multi_worker():
        if not jax.distributed.is_initialized():
            # CPU collectives across processes need gloo (GPUs use NCCL regardless).
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
            keras.distribution.initialize()
        return keras.distribution.DataParallel(
            devices=_first_of_each_process(devices), auto_shard_dataset=False).scope()
    return keras.distribution.DataParallel(
        devices=_first(jax.devices(), devices, "JAX sees")).scope()


def _first(available, devices, sees):
    """The first `devices` of `available`; a UserInputError when there are fewer."""
    from keras_genart.errors import UserInputError

    if len(available) < devices:
        raise UserInputError(
            f"--devices {devices}: {sees} {len(available)} device(s) "
            f"({', '.join(str(d) for d in available)}); on a CPU, start with "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={devices}")
    return list(available[:devices])


def _first_of_each_process(devices):
    """The first `devices` devices of every process, process by process (every
    process checks them all, so that none waits for one that gave up)."""
    chosen = []
    for process in range(jax.process_count()):
        own = sorted((d for d in jax.devices() if d.process_index == process),
                     key=lambda d: d.id)
        chosen += _first(own, devices, f"JAX process {process} has")
    return chosen


def _processes():
    import os

    return (int(os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID") or 0),
            int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES") or 1))


def multi_worker():
    """True when Keras' distribution variables name more than one process."""
    return _processes()[1] > 1


def is_chief():
    """Process 0 writes the run's files (read from the environment: no JAX call,
    which would start JAX before `jax.distributed` is initialised)."""
    return _processes()[0] == 0


def process_count():
    """`KERAS_DISTRIBUTION_NUM_PROCESSES`, or 1."""
    return _processes()[1]


def process_shard():
    """`(process index, process count)`: each process feeds its slice of a global batch."""
    return _processes()
