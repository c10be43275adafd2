"""Network builders: functional Keras models from hyperparameters only."""

from keras_genart.networks.dcgan import (NORMALIZATIONS, UPSAMPLINGS, build_discriminator,
                                         build_generator, check_final_size)
from keras_genart.networks.vae import build_decoder, build_encoder

__all__ = ["NORMALIZATIONS", "UPSAMPLINGS", "build_decoder", "build_discriminator",
           "build_encoder", "build_generator", "check_final_size"]
