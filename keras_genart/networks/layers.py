"""Small custom layers the networks use."""

import contextlib
import contextvars

import keras
import numpy as np
from keras import ops

from keras_genart import latents


@keras.saving.register_keras_serializable(package="keras_genart")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the batch's mean feature standard deviation as one channel.

    Karras et al., "Progressive Growing of GANs", 2018
    (https://arxiv.org/abs/1710.10196), section 3: it lets the discriminator
    see how varied a batch is, which pushes the generator away from repeating
    one picture. Groups of `group_size` images are compared; a batch that
    `group_size` does not divide is taken as one group. The statistic is
    computed in float32 whatever the dtype policy: in float16 its `1e-8`
    is 0, and a batch of identical pictures (a collapsing generator's) would
    get an infinite gradient at `sqrt(0)`, which a loss-scale optimizer
    skips silently, step after step.

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
        y = ops.reshape(ops.cast(x, "float32"), (group, -1, h, w, c))
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


def _angle_fraction(z):
    """`(atan2(z[:, 1], z[:, 0]) + pi) / (2 pi)` in float32, in [0, 1]."""
    z = ops.cast(z, "float32")
    u = (ops.arctan2(z[:, 1], z[:, 0]) + np.pi) / (2 * np.pi)
    return ops.clip(u, 0.0, 1.0)


@keras.saving.register_keras_serializable(package="keras_genart")
class LatentClass(keras.layers.Layer):
    """The class a latent codes: the arc its first two values' angle falls in.

    The generator of a GAN trained on labelled data with latent-coded classes
    (`AdversarialModel(latent_class_names=...)`) takes `z` only and computes
    its class with this layer (`keras_genart.latents.LATENT_CLASS_RECIPE`;
    `latents.latent_classes` is the NumPy twin): every class comes as often
    as its share in the data, and a class is asked for by turning `z` into
    its arc (`latents.latents_in_classes`, `place_in_class`).

    Call it on `z (batch, d)`, `d >= 2`; returns int32 `(batch,)`.

    Args:
        shares: list of float. The classes' shares, in label order.
    """

    def __init__(self, shares, **kwargs):
        super().__init__(**kwargs)
        self.shares = [float(s) for s in latents.check_class_shares(shares)]

    @property
    def num_classes(self):
        return len(self.shares)

    def call(self, z):
        bounds = ops.convert_to_tensor(latents.class_boundaries(self.shares), "float32")
        reached = ops.cast(ops.expand_dims(_angle_fraction(z), -1) >= bounds, "int32")
        return ops.sum(reached, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def compute_output_spec(self, z):
        return keras.KerasTensor((z.shape[0],), dtype="int32")

    def get_config(self):
        return {**super().get_config(), "shares": self.shares}


def place_in_class(z, labels, shares):
    """`keras.ops` twin of `latents.latents_in_classes`: latents `(batch, d)` turned into
    the arcs of int `labels` `(batch,)` (a training step's fakes of the real batch's
    classes)."""
    shares = latents.check_class_shares(shares)
    starts = ops.convert_to_tensor(np.concatenate([[0.0], np.cumsum(shares)[:-1]]), "float32")
    widths = ops.convert_to_tensor(shares, "float32")
    labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
    z = ops.cast(z, "float32")
    margin = latents.ARC_MARGIN
    place = (ops.take(starts, labels) + (margin + (1 - 2 * margin) * _angle_fraction(z))
             * ops.take(widths, labels))
    theta = 2 * np.pi * place - np.pi
    radius = ops.sqrt(ops.square(z[:, 0]) + ops.square(z[:, 1]))
    pair = ops.stack([radius * ops.cos(theta), radius * ops.sin(theta)], axis=-1)
    return ops.concatenate([pair, z[:, 2:]], axis=-1)
