"""WGAN-GP: a Wasserstein critic with a gradient penalty."""

import keras
from keras import ops

from keras_genart import losses
from keras_genart.models.base import PACKAGE, AdversarialModel
from keras_genart.networks.layers import MinibatchStdDev


@keras.saving.register_keras_serializable(package=PACKAGE)
class WGANGP(AdversarialModel):
    """Wasserstein GAN with gradient penalty.

    Gulrajani et al., "Improved Training of Wasserstein GANs", 2017
    (https://arxiv.org/abs/1704.00028). Each `train_step` makes `n_critic`
    critic steps (each with fresh latents and interpolation factors, on the
    step's real batch) and one generator step. The penalty is
    `gp_weight * (||grad_x critic(x_hat)|| - 1)^2` at
    `x_hat = real + alpha * (fake - real)`, `alpha ~ U[0, 1]` per sample, with a
    norm that stays finite at zero. The critic must not use batch
    normalization or a minibatch standard-deviation layer (both mix the
    samples of a batch). The trackers report the mean over a step's critic
    updates.

    Args:
        generator: `keras.Model`. Latents -> images in [-1, 1].
        discriminator: `keras.Model`. The critic: images -> one score each.
        latent_dim: int. Defaults to the generator's input size.
        n_critic: int. Critic steps per generator step. Defaults to 5.
        gp_weight: float. Lambda of the penalty. Defaults to 10.
        augmentation: list of str. Defaults to None.
        seed: int. Defaults to None.
    """

    model_type = "wgan-gp"
    default_learning_rate = 1e-4
    default_betas = (0.0, 0.9)

    def __init__(self, generator, discriminator, latent_dim=None, n_critic=5,
                 gp_weight=10.0, augmentation=None, seed=None, **kwargs):
        if int(n_critic) < 1:
            raise ValueError(f"n_critic must be at least 1, got {n_critic}")
        for layer in discriminator._flatten_layers():
            if isinstance(layer, keras.layers.BatchNormalization):
                raise ValueError(
                    "WGAN-GP's critic must not use BatchNormalization (the gradient "
                    "penalty is per sample); build it with normalization='layer' or 'none'"
                )
            if isinstance(layer, MinibatchStdDev):
                raise ValueError(
                    "WGAN-GP's critic must not use a minibatch standard-deviation layer "
                    f"({layer.name!r}): it mixes the samples of a batch, and the gradient "
                    "penalty is per sample; build it with minibatch_std=False")
        if int(kwargs.get("packing", 1)) != 1:
            raise ValueError("WGAN-GP does not pack samples (its penalty is per sample); "
                             "use packing with DCGAN")
        super().__init__(generator, discriminator, latent_dim, augmentation, seed, **kwargs)
        self.n_critic = int(n_critic)
        self.gp_weight = float(gp_weight)
        self._add_trackers("d_loss", "g_loss", "gradient_penalty", "wasserstein_distance")

    def penalty(self, real, fake, alpha):
        """Per-sample gradient penalty at the interpolates (before gp_weight)."""
        alpha = ops.reshape(alpha, (-1,) + (1,) * (len(real.shape) - 1))
        interpolates = real + alpha * (fake - real)
        gradients = self._backend.gradient_wrt_inputs(
            lambda x: self.discriminator(x, training=True), interpolates
        )
        return losses.gradient_penalty(gradients)

    def compute_step(self, data):
        real = self._real_images(data)
        batch = ops.shape(real)[0]

        def critic_loss():
            fake = self._augment(
                self.generator(self._normal((batch, self.latent_dim)), training=True))
            alpha = self._uniform((batch,))
            wasserstein = losses.discriminator_loss(
                "wasserstein",
                self.discriminator(real, training=True),
                self.discriminator(fake, training=True),
            )
            penalty = self.penalty(real, fake, alpha)
            per_sample = wasserstein + self.gp_weight * penalty
            return self._global_mean(per_sample), (
                ops.mean(per_sample), ops.mean(penalty), -ops.mean(wasserstein))

        # The trackers report the mean over this step's critic updates.
        totals = [0.0, 0.0, 0.0]
        for _ in range(self.n_critic):
            _, values = self._minimize("d_optimizer", critic_loss)
            totals = [total + value for total, value in zip(totals, values)]
        d_value, gp_value, distance = (total / self.n_critic for total in totals)

        def g_loss():
            fake = self.generator(self._normal((batch, self.latent_dim)), training=True)
            per_sample = losses.generator_loss(
                "wasserstein", self.discriminator(self._augment(fake), training=True))
            return self._global_mean(per_sample), ops.mean(per_sample)

        _, g_value = self._minimize("g_optimizer", g_loss)
        return self._update_trackers(d_loss=d_value, g_loss=g_value,
                                     gradient_penalty=gp_value,
                                     wasserstein_distance=distance)

    def get_config(self):
        return {**super().get_config(), "n_critic": self.n_critic,
                "gp_weight": self.gp_weight}
