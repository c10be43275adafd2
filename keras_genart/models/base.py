"""The models' former home, kept so that `keras_genart.models.base` imports still work.

The generative base lives in `keras_genart.models.generative`, the adversarial
model in `keras_genart.models.adversarial`, the generator's moving average in
`keras_genart.models.ema` and the constructors' checks in
`keras_genart.models.checks`.
"""

from keras_genart.models.adversarial import AdversarialModel
from keras_genart.models.checks import check_network_inputs
from keras_genart.models.generative import PACKAGE, GenerativeModel

__all__ = ["PACKAGE", "AdversarialModel", "GenerativeModel", "check_network_inputs"]
