"""keras_genart: train generative art models with Keras `fit` and export them.

The package imports nothing heavy on its own: TensorFlow and Keras load the first
time a model, a data source or a callback is asked for, so that `genart --help`
and `keras_genart.serving` stay fast and TensorFlow-free.
"""

from keras_genart._lazy import lazy_getattr
from keras_genart._version import __version__

# Public name -> module that defines it. Resolved lazily by __getattr__.
_LAZY = {
    "DCGAN": "keras_genart.models.dcgan",
    "WGANGP": "keras_genart.models.wgan_gp",
    "VAE": "keras_genart.models.vae",
    "build_model": "keras_genart.models.registry",
    "ModelConfig": "keras_genart.config",
    "TrainConfig": "keras_genart.config",
    "load_trained_model": "keras_genart.artifacts",
    "MODEL_TYPES": "keras_genart.models.registry",
    "load_images": "keras_genart.data.sources",
    "make_dataset": "keras_genart.data.pipeline",
    "ImageGridCallback": "keras_genart.callbacks.image_grid",
    "sample_latents": "keras_genart.latents",
    "UserInputError": "keras_genart.errors",
    "quiet_tensorflow": "keras_genart._quiet",
}

__all__ = ["__version__", *sorted(_LAZY)]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__():
    return __all__
