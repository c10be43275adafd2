"""Training algorithms: `keras.Model` subclasses that own `train_step`."""

from keras_genart.models.base import AdversarialModel, GenerativeModel
from keras_genart.models.dcgan import DCGAN
from keras_genart.models.registry import MODEL_TYPES, build_model
from keras_genart.models.vae import VAE
from keras_genart.models.wgan_gp import WGANGP

__all__ = ["AdversarialModel", "DCGAN", "GenerativeModel", "MODEL_TYPES", "VAE",
           "WGANGP", "build_model"]
