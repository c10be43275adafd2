"""A convolutional variational autoencoder (conditional with `class_names`)."""

import keras
import numpy as np
from keras import ops

from keras_genart import imaging, latents, losses
from keras_genart import pictures as keras_pictures
from keras_genart.models.checks import check_network_inputs
from keras_genart.models.generative import PACKAGE, GenerativeModel


@keras.saving.register_keras_serializable(package=PACKAGE)
class VAE(GenerativeModel):
    """Variational autoencoder with a beta-weighted KL term.

    Kingma & Welling 2013 (https://arxiv.org/abs/1312.6114); beta as in
    Higgins et al. 2017. The loss per image is the summed squared error of the
    reconstruction (pixels in [-1, 1]) plus `beta` times KL(q(z|x) || N(0, I));
    `z = mean + exp(log_var / 2) * eps` (reparameterisation).

    A conditional VAE (`class_names`; Sohn et al. 2015): the encoder takes
    `[images, label]` and the decoder `[z, label]` (`build_encoder` and
    `build_decoder` with `num_classes`); it trains on `(images, labels)`
    batches, and `generate` and `vary` take the class to draw.

    Args:
        encoder: `keras.Model`. Images -> `[mean, log_var]` (`[images,
            label]` -> ... when conditional).
        decoder: `keras.Model`. Latents -> images in [-1, 1] (`[z, label]`
            -> ... when conditional).
        latent_dim: int. Defaults to the decoder's input size.
        beta: float. Weight of the KL term. Defaults to 1.
        augmentation: list of str. Defaults to None.
        seed: int. Defaults to None.
        class_names: list of str. The classes of a conditional VAE. Defaults
            to None (unconditional).

    Example:
    >>> from keras_genart.networks import build_encoder, build_decoder
    >>> vae = VAE(build_encoder(16, 8, base_width=8), build_decoder(16, 8, base_width=8))
    >>> vae.compile()
    >>> pictures = vae.generate(2, seed=0)            # (2, 16, 16, 3) in [0, 1]
    >>> vae.vary(pictures[0], n=4, spread=0.5).shape
    (4, 16, 16, 3)
    """

    model_type = "vae"
    _submodels = ("encoder", "decoder")

    def __init__(self, encoder, decoder, latent_dim=None, beta=1.0,
                 augmentation=None, seed=None, class_names=None, **kwargs):
        check_network_inputs({"encoder": encoder, "decoder": decoder},
                             class_names is not None, "VAE")
        latent_dim = latent_dim or int(decoder.inputs[0].shape[-1])
        if int(encoder.outputs[0].shape[-1]) != latent_dim:
            raise ValueError(
                f"encoder makes latents of size {encoder.outputs[0].shape[-1]}, "
                f"decoder takes {latent_dim}"
            )
        super().__init__(latent_dim, augmentation=augmentation, seed=seed,
                         class_names=class_names, **kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = float(beta)
        self._add_trackers("loss", "reconstruction_loss", "kl_loss")
        self.built = True

    @property
    def generator(self):
        return self.decoder

    def encode(self, images, labels=None, training=False):
        """`(mean, log_var)` of q(z | images) (and labels, for a conditional VAE),
        images in [-1, 1]."""
        return self.encoder(images if labels is None else [images, labels], training=training)

    def call(self, inputs, training=False):
        """Reconstructions in [-1, 1] of images (`[images, labels]` when conditional)."""
        images, labels = (inputs if self.num_classes else (inputs, None))
        mean, _ = self.encode(images, labels, training=training)
        return self.decoder(mean if labels is None else [mean, labels], training=training)

    def compute_step(self, data):
        real = self._real_images(data)
        labels = self._real_labels(data)
        eps = self._normal((ops.shape(real)[0], self.latent_dim))

        def loss():
            mean, log_var = self.encode(real, labels, training=True)
            z = mean + ops.exp(0.5 * log_var) * eps
            reconstruction = self.decoder(z if labels is None else [z, labels], training=True)
            rec = ops.sum(ops.square(real - reconstruction), axis=(1, 2, 3))
            kl = losses.kl_divergence(mean, log_var)
            per_sample = rec + self.beta * kl
            return self._global_mean(per_sample), (
                ops.mean(per_sample), ops.mean(rec), ops.mean(kl))

        _, (total, rec, kl) = self._minimize("optimizer", loss)
        return self._update_trackers(loss=total, reconstruction_loss=rec, kl_loss=kl)

    # --- pictures in, pictures out (NumPy, [0, 1], like `generate`) ---------
    def encode_pictures(self, pictures, labels=None, batch_size=256):
        """`(mean, log_var)` float32 NumPy arrays `(n, latent_dim)` of pictures `(n, H, W,
        C)` (or one picture) in [0, 1] (uint8 ones in 0..255); a conditional VAE also
        needs their `labels` (one class for all, or one per picture: names or indices)."""
        pictures = imaging.picture_batch(pictures, self.image_size, self.channels)
        labels = latents.picture_labels(labels, len(pictures), self.class_names)
        means, log_vars = [], []
        for start in range(0, len(pictures), batch_size):
            batch = pictures[start : start + batch_size] * 2.0 - 1.0
            mean, log_var = self.encode(
                batch, None if labels is None else labels[start : start + batch_size])
            means.append(ops.convert_to_numpy(mean))
            log_vars.append(ops.convert_to_numpy(log_var))
        return (np.concatenate(means).astype(np.float32),
                np.concatenate(log_vars).astype(np.float32))

    def reconstruct(self, pictures, labels=None, batch_size=256):
        """Pictures in [0, 1] decoded from their encoded means (see `encode_pictures`)."""
        mean, _ = self.encode_pictures(pictures, labels, batch_size)
        labels = latents.picture_labels(labels, len(mean), self.class_names)
        return self.generate_from_latents(mean, batch_size=batch_size, labels=labels)

    def vary(self, picture, n=8, seed=0, spread=0.5, label=None, to_label=None):
        """`n` variations of a picture: decoded latents around its encoded mean.

        The latents are `keras_genart.latents.variation_latents(mean, n, seed,
        spread)`, the recipe every runtime shares (`serving.Generator.vary`
        gives the same pictures from the exported ONNX files).

        Args:
            picture: array `(H, W, C)` (or `(1, H, W, C)`): floats in [0, 1]
                or uint8 (`keras_genart.imaging.load_picture` reads a file).
            n: int. Number of variations. Defaults to 8.
            seed: int. Defaults to 0.
            spread: float >= 0. Distance from the picture, in units of the
                prior's spread (0: n reconstructions). Defaults to 0.5.
            label: a conditional VAE's class of the picture (index or name).
            to_label: a conditional VAE's class to decode as. Defaults to
                `label` (a different one redraws the picture in that class).

        Returns:
            float32 NumPy array `(n, H, W, C)` in [0, 1].
        """
        return keras_pictures.vary(self, picture, n=n, seed=seed, spread=spread, label=label,
                                   to_label=to_label)

    def get_config(self):
        return self._serialize_submodels({**super().get_config(), "beta": self.beta})
