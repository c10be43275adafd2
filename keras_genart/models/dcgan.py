"""DCGAN: the adversarial step with one discriminator update per generator update."""

import keras

from keras_genart import losses
from keras_genart.models.adversarial import AdversarialModel
from keras_genart.models.generative import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class DCGAN(AdversarialModel):
    """A GAN trained with one discriminator step per generator step.

    Radford et al. 2015 (https://arxiv.org/abs/1511.06434), with the
    adversarial loss of your choice from `keras_genart.losses`: a preset of
    `AdversarialModel`, whose other parts (R1, EMA, DiffAugment, packing,
    more discriminator steps) it takes as keyword arguments.

    Args:
        generator: `keras.Model`. Latents -> images in [-1, 1].
        discriminator: `keras.Model`. Images -> one logit per image.
        latent_dim: int. Defaults to the generator's input size.
        loss: str. `"non_saturating"`, `"minimax"`, `"hinge"`,
            `"least_squares"` (or `"wasserstein"` with a regulariser).
            Defaults to `"non_saturating"`.
        augmentation: list of str. Defaults to None.
        seed: int. Defaults to None.
        packing: int. Samples the discriminator judges at once (PacGAN).
            Defaults to 1.
        **kwargs: the other parts of `AdversarialModel` (`d_steps`,
            `gp_weight`, `r1_weight`, `r1_interval`, `ema`) and
            `keras.Model`'s arguments.

    Example:
    >>> from keras_genart.networks import build_generator, build_discriminator
    >>> gan = DCGAN(build_generator(16, 8, base_width=8),
    ...             build_discriminator(16, base_width=8), seed=0, ema=0.999)
    >>> gan.compile()
    >>> gan.generate(4, seed=1).shape
    (4, 16, 16, 3)
    """

    model_type = "dcgan"
    # Not `losses`: that name is keras.Layer's list of added losses.
    loss_choices = losses.ADVERSARIAL_LOSSES

    def __init__(self, generator, discriminator, latent_dim=None,
                 loss="non_saturating", augmentation=None, seed=None, packing=1, **kwargs):
        super().__init__(generator, discriminator, latent_dim, augmentation, seed,
                         packing=packing, loss=loss, **kwargs)
