"""Augmentation a model can switch on: applied to real images in `train_step`."""

import keras

AUGMENTATIONS = ("flip", "translate", "color")


def build_augmentation(names, seed=None):
    """A Keras pipeline of named augmentations.

    Args:
        names: list of str, from `AUGMENTATIONS`: `"flip"` (random horizontal
            flip), `"translate"` (random shift up to 1/8 of the side, reflect
            padding), `"color"` (random brightness and contrast).
        seed: int. Defaults to None.

    Returns:
        A `keras.Sequential`, or None when `names` is empty.
    """
    names = list(names or [])
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(
            f"unknown augmentation {unknown}; choose from {', '.join(AUGMENTATIONS)}"
        )
    if not names:
        return None
    layers = []
    for name in names:
        if name == "flip":
            layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
        elif name == "translate":
            layers.append(keras.layers.RandomTranslation(
                0.125, 0.125, fill_mode="reflect", seed=seed))
        elif name == "color":
            layers.append(keras.layers.RandomBrightness(0.1, value_range=(-1, 1), seed=seed))
            layers.append(keras.layers.RandomContrast(0.1, seed=seed))
    return keras.Sequential(layers, name="augmentation")
