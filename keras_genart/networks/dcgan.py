"""DCGAN-style networks: a transposed-convolution generator and its mirror.

Radford et al., "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", 2015 (https://arxiv.org/abs/1511.06434).
"""

import math

import keras
from keras import layers

from keras_genart.networks.layers import (ClassAffine, ClassProjection, LatentClass,
                                          MinibatchStdDev)
from keras_genart.options import NORMALIZATIONS, UPSAMPLINGS, check_final_size, check_image_size


def stage_widths(image_size, base_width, max_width):
    """Widths of the 4x4 .. image_size/2 stages, widest first.

    With image_size 32 and base_width 64 this is [256, 128, 64]: the
    reference DCGAN of the throughput benchmark.
    """
    check_image_size(image_size)
    stages = int(math.log2(image_size)) - 2
    return [min(base_width * 2 ** (stages - 1 - i), max_width) for i in range(stages)]


def _normalization(kind, name, momentum=0.9, affine=True):
    if kind == "batch":
        return layers.BatchNormalization(momentum=momentum, center=affine, scale=affine,
                                         name=name)
    if kind == "layer":
        return layers.LayerNormalization(axis=[1, 2, 3], center=affine, scale=affine,
                                         name=name)
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
                    name="generator", upsampling="transpose", num_classes=None,
                    latent_class_shares=None, gray=False):
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
        num_classes: int. A class-conditional generator: it takes `[z,
            label]` (int labels `(None,)`), and every normalization takes
            its scale and shift from the label (conditional batch
            normalization, `ClassAffine`). Defaults to None (takes `z` only).
        latent_class_shares: list of float. A class-conditional generator
            that takes `z` only and reads its class from it (`LatentClass`:
            the angle of `z`'s first two values; one class per share, which
            is the class's share of the latents). For GANs trained on
            labelled data with `latent_class_names`. Defaults to None.
        gray: bool. Gray pictures: the last convolution makes one channel,
            copied into each of the `channels` outputs (for data whose
            pictures are all gray: the generator cannot tint them). Defaults
            to False.

    Returns:
        A functional `keras.Model` `(None, latent_dim) -> (None, s, s, channels)`,
        or `[(None, latent_dim), (None,)] -> ...` with `num_classes`.
    """
    if upsampling not in UPSAMPLINGS:
        raise ValueError(f"upsampling must be one of {UPSAMPLINGS}, got {upsampling!r}")
    widths = stage_widths(image_size, base_width, max_width)
    z = keras.Input((latent_dim,), name="z")
    label = keras.Input((), dtype="int32", name="label") if num_classes else None
    if latent_class_shares is not None:
        if latent_dim < 2:
            raise ValueError(f"latent-coded classes need latent_dim 2 or more, got {latent_dim}")
        coded = LatentClass(latent_class_shares, name="latent_class", dtype="float32")
        if num_classes not in (None, coded.num_classes):
            raise ValueError(f"{coded.num_classes} class shares for {num_classes} classes")
        num_classes, label = coded.num_classes, coded(z)

    def norm(x, norm_name):
        if label is None:
            return _apply(x, _normalization(normalization, norm_name))
        x = _apply(x, _normalization(normalization, norm_name, affine=False))
        return ClassAffine(num_classes, name=f"{norm_name}_class")([x, label])

    x = layers.Dense(4 * 4 * widths[0], use_bias=normalization == "none", name="project")(z)
    x = layers.Reshape((4, 4, widths[0]))(x)
    x = layers.ReLU()(norm(x, "project_norm"))
    for i, width in enumerate(widths[1:], start=1):
        x = _apply(x, *_upsample(width, f"up{i}", upsampling, normalization == "none"))
        x = layers.ReLU()(norm(x, f"up{i}_norm"))
        for j in range(blocks_per_stage):
            x = layers.Conv2D(width, 3, padding="same", use_bias=normalization == "none",
                              name=f"up{i}_block{j}")(x)
            x = layers.ReLU()(norm(x, f"up{i}_block{j}_norm"))
    if gray:
        x = _apply(x, *_upsample(1, "to_gray", upsampling, True))
        x = layers.Activation("tanh", dtype="float32", name="gray")(x)
        images = layers.Concatenate(dtype="float32", name="images")([x] * channels)
    else:
        x = _apply(x, *_upsample(channels, "to_rgb", upsampling, True))
        images = layers.Activation("tanh", dtype="float32", name="images")(x)
    inputs = z if label is None or latent_class_shares is not None else [z, label]
    return keras.Model(inputs, images, name=name)


def build_downsampler(image_size=32, base_width=64, max_width=512,
                      blocks_per_stage=0, channels=3, normalization="batch",
                      name="downsampler", final_size=4):
    """The shared trunk of discriminators and encoders: image -> final_size² features."""
    widths = list(reversed(stage_widths(image_size, base_width, max_width)))
    # One stride-2 stage per halving down to final_size (the widest stages are the
    # ones left out).
    widths = widths[:int(math.log2(image_size // check_final_size(image_size, final_size)))]
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
                        minibatch_std=False, name="discriminator", final_size=4,
                        num_classes=None):
    """A discriminator (or critic) from images to one logit per image.

    The mirror of `build_generator`: stride-2 convolutions with LeakyReLU(0.2)
    down to `final_size` x `final_size`, then a Dense logit. WGAN-GP critics must not use batch
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
            at the last feature map (`MinibatchStdDev`). Not for WGAN-GP
            critics: it mixes samples, and the penalty is per sample.
            Defaults to False.
        name: str. Defaults to `"discriminator"`.
        final_size: int. Side of the last feature map, a power of two from
            4 to image_size / 2. 4 is the DCGAN paper's; 8 leaves out the
            widest, 4x4 stage (the two-convolution discriminator of many
            DCGAN tutorials at 32 px), which costs about a third of a
            training step on a CPU. Defaults to 4.
        num_classes: int. A projection discriminator (Miyato & Koyama
            2018): it takes `[images, label]` and adds
            `<embedding[label], features>` (`ClassProjection`) to the logit.
            Defaults to None (takes images only).

    Returns:
        A functional `keras.Model` `(None, s, s, channels) -> (None, 1)`, or
        `[(None, s, s, channels), (None,)] -> (None, 1)` with `num_classes`.
    """
    images, x = build_downsampler(image_size, base_width, max_width,
                                  blocks_per_stage, channels, normalization,
                                  final_size=final_size)
    if minibatch_std:
        x = MinibatchStdDev(name="minibatch_std")(x)
    x = layers.Flatten()(x)
    logits = _sn(layers.Dense(1, dtype="float32", name="logits"), normalization)(x)
    if not num_classes:
        return keras.Model(images, logits, name=name)
    label = keras.Input((), dtype="int32", name="label")
    projection = ClassProjection(num_classes, name="class_projection")([x, label])
    logits = layers.Add(dtype="float32", name="conditional_logits")([logits, projection])
    return keras.Model([images, label], logits, name=name)
