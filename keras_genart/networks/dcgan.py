"""DCGAN-style networks: a transposed-convolution generator and its mirror.

Radford et al., "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", 2015 (https://arxiv.org/abs/1511.06434).
"""

import math

import keras
from keras import layers

from keras_genart.data.sources import check_image_size
from keras_genart.networks.layers import MinibatchStdDev
from keras_genart.options import NORMALIZATIONS, UPSAMPLINGS



def stage_widths(image_size, base_width, max_width):
    """Widths of the 4x4 .. image_size/2 stages, widest first.

    With image_size 32 and base_width 64 this is [256, 128, 64]: the
    reference DCGAN of the throughput benchmark.
    """
    check_image_size(image_size)
    stages = int(math.log2(image_size)) - 2
    return [min(base_width * 2 ** (stages - 1 - i), max_width) for i in range(stages)]


def _normalization(kind, name, momentum=0.9):
    if kind == "batch":
        return layers.BatchNormalization(momentum=momentum, name=name)
    if kind == "layer":
        return layers.LayerNormalization(axis=[1, 2, 3], name=name)
    if kind in ("none", "spectral"):  # spectral wraps the conv itself
        return None
    raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {kind!r}")


def _sn(layer, normalization):
    """Wraps a layer in spectral normalization (Miyato et al. 2018) if asked."""
    if normalization == "spectral":
        return layers.SpectralNormalization(layer, name=f"{layer.name}_sn")
    return layer


def _apply(x, *ops):
    for op in ops:
        if op is not None:
            x = op(x)
    return x


def _upsample(width, name, upsampling, use_bias):
    """A layer (or layers) that double the side: see `UPSAMPLINGS`."""
    if upsampling == "transpose":
        return [layers.Conv2DTranspose(width, 4, strides=2, padding="same",
                                       use_bias=use_bias, name=name)]
    if upsampling == "resize":
        return [layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_resize"),
                layers.Conv2D(width, 3, padding="same", use_bias=use_bias, name=name)]
    raise ValueError(f"upsampling must be one of {UPSAMPLINGS}, got {upsampling!r}")


def build_generator(image_size=32, latent_dim=128, base_width=64, max_width=512,
                    blocks_per_stage=0, channels=3, normalization="batch",
                    name="generator", upsampling="transpose"):
    """A generator from latent vectors to images in [-1, 1] (tanh).

    Dense -> 4x4xW, then one stride-2 `Conv2DTranspose` per doubling (each
    followed by normalization and ReLU, and by `blocks_per_stage` extra 3x3
    convolutions), and a last `Conv2DTranspose` to `channels` with tanh.

    Args:
        image_size: int. Output side, a power of two from 16 to 128.
            Defaults to 32.
        latent_dim: int. Size of the latent vector. Defaults to 128.
        base_width: int. Filters of the widest-resolution stage; each lower
            resolution doubles it. Defaults to 64.
        max_width: int. Cap on filters. Defaults to 512.
        blocks_per_stage: int. Extra 3x3 conv blocks per resolution (depth).
            Defaults to 0.
        channels: int. Output channels. Defaults to 3.
        normalization: str. `"batch"`, `"layer"` or `"none"`. Defaults to
            `"batch"`.
        name: str. Defaults to `"generator"`.
        upsampling: str. `"transpose"` (stride-2 transposed convolutions)
            or `"resize"` (nearest-neighbour doubling and a 3x3 convolution:
            no checkerboard artifacts). Defaults to `"transpose"`.

    Returns:
        A functional `keras.Model` `(None, latent_dim) -> (None, s, s, channels)`.
    """
    if upsampling not in UPSAMPLINGS:
        raise ValueError(f"upsampling must be one of {UPSAMPLINGS}, got {upsampling!r}")
    widths = stage_widths(image_size, base_width, max_width)
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(4 * 4 * widths[0], use_bias=normalization == "none", name="project")(z)
    x = layers.Reshape((4, 4, widths[0]))(x)
    x = _apply(x, _normalization(normalization, "project_norm"), layers.ReLU())
    for i, width in enumerate(widths[1:], start=1):
        x = _apply(x, *_upsample(width, f"up{i}", upsampling, normalization == "none"),
                   _normalization(normalization, f"up{i}_norm"), layers.ReLU())
        for j in range(blocks_per_stage):
            x = layers.Conv2D(width, 3, padding="same", use_bias=normalization == "none",
                              name=f"up{i}_block{j}")(x)
            x = _apply(x, _normalization(normalization, f"up{i}_block{j}_norm"),
                       layers.ReLU())
    x = _apply(x, *_upsample(channels, "to_rgb", upsampling, True))
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(z, images, name=name)


def build_downsampler(image_size=32, base_width=64, max_width=512,
                      blocks_per_stage=0, channels=3, normalization="batch",
                      name="downsampler"):
    """The shared trunk of discriminators and encoders: image -> 4x4 features."""
    widths = list(reversed(stage_widths(image_size, base_width, max_width)))
    images = keras.Input((image_size, image_size, channels), name="images")
    x = images
    plain_bias = normalization in ("none", "spectral")
    for i, width in enumerate(widths):
        x = _sn(layers.Conv2D(width, 4, strides=2, padding="same",
                              use_bias=i == 0 or plain_bias, name=f"down{i}"),
                normalization)(x)
        # DCGAN leaves the first layer unnormalized.
        norm = None if i == 0 else _normalization(normalization, f"down{i}_norm")
        x = _apply(x, norm, layers.LeakyReLU(0.2))
        for j in range(blocks_per_stage):
            x = _sn(layers.Conv2D(width, 3, padding="same", name=f"down{i}_block{j}"),
                    normalization)(x)
            x = layers.LeakyReLU(0.2)(x)
    return images, x


def build_discriminator(image_size=32, base_width=64, max_width=512,
                        blocks_per_stage=0, channels=3, normalization="batch",
                        minibatch_std=False, name="discriminator"):
    """A discriminator (or critic) from images to one logit per image.

    The mirror of `build_generator`: stride-2 convolutions with LeakyReLU(0.2)
    down to 4x4, then a Dense logit. WGAN-GP critics must not use batch
    normalization (the penalty is per sample): use `"layer"` or `"none"`.

    Args:
        image_size: int. Input side. Defaults to 32.
        base_width: int. Filters at the highest resolution. Defaults to 64.
        max_width: int. Cap on filters. Defaults to 512.
        blocks_per_stage: int. Extra 3x3 conv blocks per resolution.
            Defaults to 0.
        channels: int. Input channels. Defaults to 3.
        normalization: str. `"batch"`, `"layer"`, `"spectral"` (spectral
            normalization of every weight, Miyato et al. 2018) or `"none"`.
            Defaults to `"batch"`.
        minibatch_std: bool. Append a minibatch standard-deviation channel
            at 4x4 (`MinibatchStdDev`). Not for WGAN-GP critics: it mixes
            samples, and the penalty is per sample. Defaults to False.
        name: str. Defaults to `"discriminator"`.

    Returns:
        A functional `keras.Model` `(None, s, s, channels) -> (None, 1)`.
    """
    images, x = build_downsampler(image_size, base_width, max_width,
                                  blocks_per_stage, channels, normalization)
    if minibatch_std:
        x = MinibatchStdDev(name="minibatch_std")(x)
    x = layers.Flatten()(x)
    logits = _sn(layers.Dense(1, dtype="float32", name="logits"), normalization)(x)
    return keras.Model(images, logits, name=name)
