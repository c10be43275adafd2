"""DCGAN: adversarial training with a choice of loss."""

import keras
from keras import ops

from keras_genart import losses
from keras_genart.models.base import PACKAGE, AdversarialModel


@keras.saving.register_keras_serializable(package=PACKAGE)
class DCGAN(AdversarialModel):
    """A GAN trained with one discriminator step per generator step.

    Radford et al. 2015 (https://arxiv.org/abs/1511.06434), with the
    adversarial loss of your choice from `keras_genart.losses`.

    Args:
        generator: `keras.Model`. Latents -> images in [-1, 1].
        discriminator: `keras.Model`. Images -> one logit per image.
        latent_dim: int. Defaults to the generator's input size.
        loss: str. `"non_saturating"`, `"minimax"`, `"hinge"` or
            `"least_squares"`. Defaults to `"non_saturating"`.
        augmentation: list of str. Defaults to None.
        seed: int. Defaults to None.
        packing: int. Samples the discriminator judges at once (PacGAN).
            Defaults to 1.

    Example:
    >>> from keras_genart.networks import build_generator, build_discriminator
    >>> gan = DCGAN(build_generator(16, 8, base_width=8),
    ...             build_discriminator(16, base_width=8), seed=0)
    >>> gan.compile()
    >>> gan.generate(4, seed=1).shape
    (4, 16, 16, 3)
    """

    model_type = "dcgan"
    # Not `losses`: that name is keras.Layer's list of added losses.
    loss_choices = ("non_saturating", "minimax", "hinge", "least_squares")

    def __init__(self, generator, discriminator, latent_dim=None,
                 loss="non_saturating", augmentation=None, seed=None, packing=1, **kwargs):
        if loss not in self.loss_choices:
            raise ValueError(f"DCGAN loss must be one of {self.loss_choices}, got {loss!r}")
        super().__init__(generator, discriminator, latent_dim, augmentation, seed,
                         packing=packing, **kwargs)
        self.loss_kind = loss
        self._add_trackers("d_loss", "g_loss")

    def compute_step(self, data):
        real = self._real_images(data)
        batch = ops.shape(real)[0]

        def d_loss():
            fake = self.generator(self._normal((batch, self.latent_dim)), training=True)
            per_sample = losses.discriminator_loss(
                self.loss_kind,
                self._judge(real),
                self._judge(self._augment(fake)),
            )
            return self._global_mean(per_sample), ops.mean(per_sample)

        def g_loss():
            fake = self.generator(self._normal((batch, self.latent_dim)), training=True)
            per_sample = losses.generator_loss(self.loss_kind, self._judge(self._augment(fake)))
            return self._global_mean(per_sample), ops.mean(per_sample)

        _, d_value = self._minimize("d_optimizer", d_loss)
        _, g_value = self._minimize("g_optimizer", g_loss)
        return self._update_trackers(d_loss=d_value, g_loss=g_value)

    def get_config(self):
        return {**super().get_config(), "loss": self.loss_kind}
