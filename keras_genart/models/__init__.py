"""Training algorithms: `keras.Model` subclasses that own `train_step`.

Imported lazily so that reading `MODEL_TYPES` does not load TensorFlow.
"""

import importlib

from keras_genart._lazy import lazy_getattr
from keras_genart.options import MIXED_PRECISION, MODEL_TYPES

_LAZY = {
    "GenerativeModel": "keras_genart.models.generative",
    "AdversarialModel": "keras_genart.models.adversarial",
    "DCGAN": "keras_genart.models.dcgan",
    "WGANGP": "keras_genart.models.wgan_gp",
    "VAE": "keras_genart.models.vae",
    "build_model": "keras_genart.models.registry",
}

__all__ = ["MIXED_PRECISION", "MODEL_TYPES", *sorted(_LAZY)]


def register_all():
    """Imports every model class so that `keras.saving` can load them."""
    for module in set(_LAZY.values()):
        importlib.import_module(module)


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
