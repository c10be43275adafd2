"""A convolutional variational autoencoder."""

import keras
from keras import ops

from keras_genart import losses
from keras_genart.models.base import PACKAGE, GenerativeModel


@keras.saving.register_keras_serializable(package=PACKAGE)
class VAE(GenerativeModel):
    """Variational autoencoder with a beta-weighted KL term.

    Kingma & Welling 2013 (https://arxiv.org/abs/1312.6114); beta as in
    Higgins et al. 2017. The loss per image is the summed squared error of the
    reconstruction (pixels in [-1, 1]) plus `beta` times KL(q(z|x) || N(0, I));
    `z = mean + exp(log_var / 2) * eps` (reparameterisation).

    Args:
        encoder: `keras.Model`. Images -> `[mean, log_var]`.
        decoder: `keras.Model`. Latents -> images in [-1, 1].
        latent_dim: int. Defaults to the decoder's input size.
        beta: float. Weight of the KL term. Defaults to 1.
        augmentation: list of str. Defaults to None.
        seed: int. Defaults to None.
    """

    model_type = "vae"
    _submodels = ("encoder", "decoder")

    def __init__(self, encoder, decoder, latent_dim=None, beta=1.0,
                 augmentation=None, seed=None, **kwargs):
        latent_dim = latent_dim or int(decoder.input.shape[-1])
        if int(encoder.outputs[0].shape[-1]) != latent_dim:
            raise ValueError(
                f"encoder makes latents of size {encoder.outputs[0].shape[-1]}, "
                f"decoder takes {latent_dim}"
            )
        super().__init__(latent_dim, augmentation=augmentation, seed=seed, **kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = float(beta)
        self._add_trackers("loss", "reconstruction_loss", "kl_loss")
        self.built = True

    @property
    def generator(self):
        return self.decoder

    def encode(self, images, training=False):
        """`(mean, log_var)` of q(z | images), images in [-1, 1]."""
        return self.encoder(images, training=training)

    def call(self, images, training=False):
        mean, _ = self.encode(images, training=training)
        return self.decoder(mean, training=training)

    def compute_step(self, data):
        real = self._real_images(data)
        eps = self._normal((ops.shape(real)[0], self.latent_dim))

        def loss():
            mean, log_var = self.encoder(real, training=True)
            z = mean + ops.exp(0.5 * log_var) * eps
            reconstruction = self.decoder(z, training=True)
            rec = ops.sum(ops.square(real - reconstruction), axis=(1, 2, 3))
            kl = losses.kl_divergence(mean, log_var)
            per_sample = rec + self.beta * kl
            return self._global_mean(per_sample), (
                ops.mean(per_sample), ops.mean(rec), ops.mean(kl))

        _, (total, rec, kl) = self._minimize("optimizer", loss)
        return self._update_trackers(loss=total, reconstruction_loss=rec, kl_loss=kl)

    def get_config(self):
        return self._serialize_submodels({**super().get_config(), "beta": self.beta})
