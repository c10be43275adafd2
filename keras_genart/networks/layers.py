"""Small custom layers the networks use."""

import contextlib
import contextvars

import keras
import numpy as np
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


def _class_rows(table, labels, like):
    """Rows of `table` for int `labels` `(batch,)`, shaped to broadcast against `like`."""
    rows = ops.take(table, ops.cast(ops.reshape(labels, (-1,)), "int32"), axis=0)
    rows = ops.reshape(rows, (-1,) + (1,) * (len(like.shape) - 2) + (table.shape[-1],))
    return ops.cast(rows, like.dtype)


# Class weights `(batch, num_classes)` that eager `ClassAffine` calls mix rows by.
_CLASS_MIX = contextvars.ContextVar("keras_genart_class_mix", default=None)


@contextlib.contextmanager
def class_mixture(weights):
    """Within the block, `ClassAffine` layers (called eagerly) mix their classes.

    Each row of `weights` `(batch, num_classes)` gives that picture's scale
    and shift as the weighted sum of the classes' rows instead of one label's:
    one-hot rows are exactly the classes, `[0.5, 0.5, 0]` halfway between the
    first two. This is how walks from one class to another are drawn
    (`GenerativeModel.generate_from_latents(class_weights=...)`); the label
    input is still given (its values are not used) and exported models keep
    taking integer labels.
    """
    weights = np.asarray(weights, np.float32)
    if weights.ndim != 2:
        raise ValueError(f"class weights must be (batch, num_classes), got {weights.shape}")
    token = _CLASS_MIX.set(weights)
    try:
        yield
    finally:
        _CLASS_MIX.reset(token)


class _PerClass(keras.layers.Layer):
    """A layer with one row of weights per class."""

    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="keras_genart")
class ClassAffine(_PerClass):
    """A scale and a shift per class and channel: `x * scale[label] + shift[label]`.

    Put after a normalization without its own scale and shift, it makes
    conditional batch normalization (de Vries et al. 2017; Dumoulin et al.
    2017), the way class-conditional GAN generators (Miyato & Koyama 2018,
    BigGAN) take their label. Scales start at 1 and shifts at 0.

    Call it on `[features (batch, ..., channels), labels (batch,) int]`.

    Args:
        num_classes: int. Number of classes.
    """

    def build(self, input_shape):
        channels = input_shape[0][-1]
        self.scale = self.add_weight(shape=(self.num_classes, channels), initializer="ones",
                                     name="scale")
        self.shift = self.add_weight(shape=(self.num_classes, channels), initializer="zeros",
                                     name="shift")

    def call(self, inputs):
        x, labels = inputs
        mix = _CLASS_MIX.get()
        if mix is not None and not isinstance(x, keras.KerasTensor):
            return x * self._mixed_rows(self.scale, mix, x) + self._mixed_rows(self.shift, mix, x)
        return x * _class_rows(self.scale, labels, x) + _class_rows(self.shift, labels, x)

    def _mixed_rows(self, table, mix, like):
        if mix.shape[1] != self.num_classes:
            raise ValueError(f"class weights for {mix.shape[1]} classes; {self.name} has "
                             f"{self.num_classes}")
        rows = ops.matmul(ops.convert_to_tensor(mix), ops.cast(table, "float32"))
        rows = ops.reshape(rows, (-1,) + (1,) * (len(like.shape) - 2) + (table.shape[-1],))
        return ops.cast(rows, like.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package="keras_genart")
class ClassProjection(_PerClass):
    """The projection discriminator's class term: `<embedding[label], features>`.

    Miyato & Koyama, "cGANs with Projection Discriminator", 2018
    (https://arxiv.org/abs/1802.05637): added to the unconditional logit, it
    scores how well the features match the class asked for.

    Call it on `[features (batch, d), labels (batch,) int]`; returns
    `(batch, 1)` float32.

    Args:
        num_classes: int. Number of classes.
    """

    def build(self, input_shape):
        self.embedding = self.add_weight(shape=(self.num_classes, input_shape[0][-1]),
                                         initializer="glorot_uniform", name="embedding")

    def call(self, inputs):
        features, labels = inputs
        features = ops.cast(features, "float32")
        rows = ops.cast(_class_rows(self.embedding, labels, features), "float32")
        return ops.sum(rows * features, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs[0].shape[0], 1), dtype="float32")
