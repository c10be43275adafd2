"""WGAN-GP: a Wasserstein critic with a gradient penalty (a preset of the adversarial step)."""

import keras

from keras_genart.models.adversarial import AdversarialModel
from keras_genart.models.generative import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class WGANGP(AdversarialModel):
    """Wasserstein GAN with gradient penalty.

    Gulrajani et al., "Improved Training of Wasserstein GANs", 2017
    (https://arxiv.org/abs/1704.00028). A preset of `AdversarialModel`: the
    `"wasserstein"` loss, `n_critic` critic steps (each with fresh latents
    and interpolation factors, on the step's real batch) per generator step,
    and the penalty `gp_weight * (||grad_x critic(x_hat)|| - 1)^2` at
    `x_hat = real + alpha * (fake - real)`, `alpha ~ U[0, 1]` per sample, with
    a norm that stays finite at zero. The critic must not use batch
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
        **kwargs: `ema`, `r1_weight`, `r1_interval` of `AdversarialModel`
            and `keras.Model`'s arguments.
    """

    model_type = "wgan-gp"
    default_learning_rate = 1e-4
    default_betas = (0.0, 0.9)

    def __init__(self, generator, discriminator, latent_dim=None, n_critic=5,
                 gp_weight=10.0, augmentation=None, seed=None, **kwargs):
        if int(n_critic) < 1:
            raise ValueError(f"n_critic must be at least 1, got {n_critic}")
        if float(gp_weight) <= 0:
            raise ValueError(f"WGAN-GP's gp_weight must be positive, got {gp_weight}")
        fixed = sorted({"loss", "d_steps"} & set(kwargs))
        if fixed:
            raise TypeError(f"WGANGP sets {', '.join(fixed)} itself (the wasserstein loss, "
                            "n_critic critic steps); use AdversarialModel for other choices")
        super().__init__(generator, discriminator, latent_dim, augmentation, seed,
                         loss="wasserstein", d_steps=n_critic, gp_weight=gp_weight, **kwargs)

    @property
    def n_critic(self):
        return self.d_steps

    def get_config(self):
        config = super().get_config()
        del config["loss"], config["d_steps"]
        return {**config, "n_critic": self.n_critic}
