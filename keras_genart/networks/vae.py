"""Encoder and decoder networks of the convolutional VAE.

Kingma and Welling, "Auto-Encoding Variational Bayes", 2013
(https://arxiv.org/abs/1312.6114).
"""

import keras
from keras import layers

from keras_genart.networks.dcgan import build_downsampler, build_generator


def build_encoder(image_size=32, latent_dim=128, base_width=64, max_width=512,
                  blocks_per_stage=0, channels=3, normalization="batch",
                  name="encoder", num_classes=None):
    """An encoder from images to the mean and log-variance of q(z | x).

    Args:
        image_size: int. Input side. Defaults to 32.
        latent_dim: int. Size of the latent. Defaults to 128.
        base_width: int. Filters at the highest resolution. Defaults to 64.
        max_width: int. Cap on filters. Defaults to 512.
        blocks_per_stage: int. Extra 3x3 conv blocks per resolution.
            Defaults to 0.
        channels: int. Input channels. Defaults to 3.
        normalization: str. `"batch"`, `"layer"` or `"none"`. Defaults to
            `"batch"`.
        name: str. Defaults to `"encoder"`.
        num_classes: int. A conditional encoder, q(z | x, label): it takes
            `[images, label]` (int labels `(None,)`) and sees a learned
            embedding of the label beside the image's features. Defaults to
            None (takes images only).

    Returns:
        A functional `keras.Model` images -> `[mean, log_var]`, each
        `(None, latent_dim)` (`[images, label]` -> ... with `num_classes`).
    """
    images, x = build_downsampler(image_size, base_width, max_width,
                                  blocks_per_stage, channels, normalization)
    x = layers.Flatten()(x)
    label = keras.Input((), dtype="int32", name="label") if num_classes else None
    if label is not None:
        embedding = layers.Embedding(num_classes, latent_dim, name="label_embedding")(label)
        x = layers.Concatenate(name="features_and_label")([x, embedding])
    mean = layers.Dense(latent_dim, dtype="float32", name="mean")(x)
    log_var = layers.Dense(latent_dim, dtype="float32", name="log_var")(x)
    return keras.Model(images if label is None else [images, label], [mean, log_var],
                       name=name)


def build_decoder(image_size=32, latent_dim=128, base_width=64, max_width=512,
                  blocks_per_stage=0, channels=3, normalization="batch",
                  name="decoder", upsampling="transpose", num_classes=None, gray=False):
    """A decoder from latents to images in [-1, 1]: `build_generator`'s network
    (with `num_classes`, p(x | z, label): it takes `[z, label]`; with `gray`,
    one channel copied into each of `channels`)."""
    return build_generator(image_size, latent_dim, base_width, max_width,
                           blocks_per_stage, channels, normalization, name=name,
                           upsampling=upsampling, num_classes=num_classes, gray=gray)
