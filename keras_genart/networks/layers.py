"""Small custom layers the networks use."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_genart")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the batch's mean feature standard deviation as one channel.

    Karras et al., "Progressive Growing of GANs", 2018
    (https://arxiv.org/abs/1710.10196), section 3: it lets the discriminator
    see how varied a batch is, which pushes the generator away from repeating
    one picture. Groups of `group_size` images are compared; a batch that
    `group_size` does not divide is taken as one group.

    Args:
        group_size: int. Images per group. Defaults to 4.
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)

    def call(self, x):
        shape = ops.shape(x)
        batch, h, w, c = shape[0], shape[1], shape[2], shape[3]
        if isinstance(batch, int):  # static (always under JAX): a static group
            group = min(self.group_size, batch) if batch % self.group_size == 0 else batch
        else:
            group = ops.where(ops.equal(batch % self.group_size, 0),
                              ops.minimum(self.group_size, batch), batch)
        y = ops.reshape(x, (group, -1, h, w, c))
        y = y - ops.mean(y, axis=0, keepdims=True)
        y = ops.sqrt(ops.mean(ops.square(y), axis=0) + 1e-8)
        y = ops.mean(y, axis=(1, 2, 3), keepdims=True)       # (batch / group, 1, 1, 1)
        y = ops.tile(y, (group, h, w, 1))
        return ops.concatenate([x, ops.cast(y, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}
