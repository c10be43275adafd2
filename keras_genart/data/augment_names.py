"""Augmentation names: what the CLI, the run config and the models accept.

Kept apart from `augment` (which imports Keras) so that `genart --help` stays fast.
"""

from keras_genart.errors import UserInputError

# Data augmentations: applied to the real pictures only. A mirrored picture is
# one more real picture (StyleGAN's --mirror); mirroring the generated ones too
# would hide from the discriminator which way they face, and the generator
# learns to draw one orientation only.
REAL_ONLY = ("flip",)
# Differentiable augmentations (DiffAugment, Zhao et al. 2020): applied to real
# and generated pictures alike, in the discriminator's and the generator's step.
DIFFERENTIABLE = ("color", "translation", "cutout", "translate")
AUGMENTATIONS = REAL_ONLY + DIFFERENTIABLE

DESCRIPTIONS = {
    "flip": "mirror the real pictures left-right (doubles the data; only for subjects "
            "that may face either way)",
    "color": "DiffAugment colour: brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5]",
    "translation": "DiffAugment translation: shift up to 1/8 of the side, zero border",
    "cutout": "DiffAugment cutout: a square of half the side set to zero (grey)",
    "translate": "shift up to 1/8 of the side with a mirrored border (keras_genart 0.x)",
}


def check_augmentations(names):
    """The list of names, or an error naming the unknown ones."""
    names = list(names or [])
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise UserInputError(
            f"unknown augmentation {', '.join(map(str, unknown))}; choose from "
            f"{', '.join(AUGMENTATIONS)}")
    return names
