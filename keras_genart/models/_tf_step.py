"""The TensorFlow-specific part of training, kept small and in one place.

Everything else (losses, sampling, bookkeeping) is written in `keras.ops`;
another Keras backend needs only its own version of these three functions.
"""

import tensorflow as tf


def minimize(optimizer, variables, loss_fn):
    """One optimizer step on `loss_fn() -> (loss, aux)`; returns `(loss, aux)`."""
    with tf.GradientTape() as tape:
        loss, aux = loss_fn()
    gradients = tape.gradient(loss, variables)
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
