"""What the models' constructors refuse, one small check per concern.

Each check raises a `ValueError` that names the argument and what would be
accepted; the models call them before building anything.
"""

import keras

from keras_genart import losses
from keras_genart.networks.layers import LatentClass, MinibatchStdDev


def check_network_inputs(networks, conditional, kind):
    """Refuses networks whose inputs do not fit a conditional (or unconditional) model.

    A conditional model's networks take two inputs (pictures or latents, and
    labels), an unconditional one's one.

    Args:
        networks: dict of str to `keras.Model`. The networks, by what they are.
        conditional: bool. Whether the model takes labels.
        kind: str. The model, for the message (`"GAN"`, `"VAE"`).
    """
    for what, network in networks.items():
        if len(network.inputs) != 1 + bool(conditional):
            raise ValueError(
                f"the {what} takes {len(network.inputs)} input(s): a conditional {kind}'s "
                f"networks take two (pictures or latents, and labels), an unconditional "
                f"{kind}'s one" + (f"; pass class_names for a conditional {kind}"
                                   if not conditional else ""))


def latent_dim_of(generator, latent_dim):
    """`latent_dim`, or the generator's input size when None; refuses a mismatch."""
    latent_input = generator.inputs[0].shape[-1]
    latent_dim = latent_dim or int(latent_input)
    if int(latent_input) != latent_dim:
        raise ValueError(
            f"generator takes latents of size {latent_input}, not latent_dim={latent_dim}"
        )
    return latent_dim


def latent_class_layer(network):
    """A generator's `LatentClass` layer, or None."""
    found = [layer for layer in network.layers if isinstance(layer, LatentClass)]
    return found[0] if found else None


def check_gan_inputs(generator, discriminator, class_names, latent_class_names, packing):
    """Checks a GAN's networks' inputs against its classes; returns `latent_class_names`.

    A conditional GAN's (`class_names`) networks both take labels; a GAN with
    latent-coded classes (`latent_class_names`) has a generator that takes
    `z` only and reads the class from it, and a discriminator that takes
    labels; an unconditional GAN's networks take no labels.
    """
    if latent_class_names is None:
        check_network_inputs({"generator": generator, "discriminator": discriminator},
                             class_names is not None, "GAN")
        return None
    return _check_latent_classes(latent_class_names, generator, discriminator,
                                 class_names is not None, packing)


def _check_latent_classes(names, generator, discriminator, conditional, packing):
    """The validated `latent_class_names` of an `AdversarialModel` and its networks."""
    names = [str(name) for name in names]
    if conditional:
        raise ValueError("a GAN takes labels (class_names) or codes its classes in the "
                         "latents (latent_class_names), not both")
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError(f"latent_class_names must be two or more distinct names, got {names}")
    if packing != 1:
        raise ValueError("a GAN with latent-coded classes does not pack: the pictures judged "
                         "together would have different labels")
    check_network_inputs({"generator": generator}, False, "GAN")
    check_network_inputs({"discriminator": discriminator}, True, "GAN")
    layer = latent_class_layer(generator)
    if layer is None or layer.num_classes != len(names):
        raise ValueError(
            f"latent_class_names has {len(names)} classes: the generator must read as many "
            f"from its latents (build_generator(latent_class_shares=...)); it reads "
            f"{0 if layer is None else layer.num_classes}")
    return names


def check_packing(generator, discriminator, packing, conditional):
    """Refuses a packing (PacGAN) that the model or the discriminator's input cannot take."""
    if packing < 1:
        raise ValueError(f"packing must be at least 1, got {packing}")
    if conditional and packing > 1:
        raise ValueError("a conditional GAN does not pack: the packed pictures would "
                         "have different labels")
    made = tuple(generator.output.shape[1:])
    judged = made[:-1] + (made[-1] * packing,)
    if judged != tuple(discriminator.inputs[0].shape[1:]):
        raise ValueError(
            f"generator makes images of shape {made} but the discriminator takes "
            f"{discriminator.inputs[0].shape[1:]}"
            + (f" (with packing {packing} it must take {judged})" if packing > 1 else ""))


def check_discriminator_step(loss, gp_weight, r1_weight, d_steps, r1_interval,
                             discriminator, packing):
    """Refuses a discriminator update that cannot work: an unknown loss, negative
    weights, a Wasserstein loss without a regulariser, counts below 1, or a gradient
    penalty on a critic that mixes its samples."""
    if loss not in losses.ADVERSARIAL_LOSSES:
        raise ValueError(f"adversarial loss must be one of {losses.ADVERSARIAL_LOSSES}, "
                         f"got {loss!r}")
    if not (gp_weight >= 0 and r1_weight >= 0):
        raise ValueError(f"gp_weight and r1_weight must be 0 or more, got {gp_weight}, "
                         f"{r1_weight}")
    if loss == "wasserstein" and not (gp_weight or r1_weight):
        raise ValueError("the wasserstein loss needs a regulariser of the critic "
                         "(gp_weight or r1_weight); without one it diverges")
    if int(d_steps) < 1 or int(r1_interval) < 1:
        raise ValueError(f"d_steps and r1_interval must be at least 1, got {d_steps}, "
                         f"{r1_interval}")
    if gp_weight:
        _check_per_sample_critic(discriminator, packing)


def _check_per_sample_critic(discriminator, packing):
    """A ValueError when the gradient penalty cannot be per sample."""
    if packing != 1:
        raise ValueError("the gradient penalty is per sample: it does not go with packing "
                         "(use R1 or no penalty with packing)")
    for layer in discriminator._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            raise ValueError(
                "a critic with a gradient penalty must not use BatchNormalization (the "
                "penalty is per sample); build it with normalization='layer' or 'none'")
        if isinstance(layer, MinibatchStdDev):
            raise ValueError(
                "a critic with a gradient penalty must not use a minibatch standard-deviation "
                f"layer ({layer.name!r}): it mixes the samples of a batch, and the gradient "
                "penalty is per sample; build it with minibatch_std=False")


def check_ema(ema):
    """Refuses a moving-average decay outside (0, 1) (None: no moving average)."""
    if ema is not None and not 0.0 < float(ema) < 1.0:
        raise ValueError(f"ema must be a decay in (0, 1) or None, got {ema}")
