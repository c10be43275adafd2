"""Augmentations a model can switch on, written in `keras.ops` for every backend.

They run inside the model's `train_step` on batches in [-1, 1], draw their
random numbers from the model's seed generator (so a saved model resumes
them exactly and every replica draws its own), are differentiable with
respect to the images (GANs augment generated images too, as in DiffAugment,
Zhao et al. 2020) and keep images in [-1, 1].
"""

from keras import ops

AUGMENTATIONS = ("flip", "translate", "color")

# Largest shift of "translate", as a share of the side (DiffAugment's 1/8).
TRANSLATE_RATIO = 0.125
# "color": brightness offset in [-B, B] and contrast factor in [1 - C, 1 + C].
BRIGHTNESS = 0.1
CONTRAST = 0.1


def check_augmentations(names):
    """The list of names, or a ValueError naming the unknown ones."""
    names = list(names or [])
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(
            f"unknown augmentation {unknown}; choose from {', '.join(AUGMENTATIONS)}")
    return names


def flip(images, uniform):
    """Mirrors each image left-right with probability 1/2."""
    coin = uniform((ops.shape(images)[0], 1, 1, 1))
    return ops.where(coin < 0.5, ops.flip(images, axis=2), images)


def _reflect(index, size):
    """Indices outside [0, size) mirrored back in (edge pixel not repeated)."""
    index = ops.abs(index)
    return (size - 1) - ops.abs((size - 1) - index)


def translate(images, uniform, ratio=TRANSLATE_RATIO):
    """Shifts each image by whole pixels, up to `ratio` of the side, reflecting the border."""
    shape = ops.shape(images)
    batch, height, width, channels = shape[0], images.shape[1], images.shape[2], images.shape[3]
    max_shift = max(1, int(round(min(height, width) * ratio)))
    shifts = ops.floor(uniform((batch, 2)) * (2 * max_shift + 1)) - max_shift
    shifts = ops.cast(shifts, "int32")
    rows = _reflect(ops.arange(height, dtype="int32")[None, :] - shifts[:, :1], height)
    cols = _reflect(ops.arange(width, dtype="int32")[None, :] - shifts[:, 1:], width)
    rows = ops.broadcast_to(rows[:, :, None, None], (batch, height, width, channels))
    images = ops.take_along_axis(images, rows, axis=1)
    cols = ops.broadcast_to(cols[:, None, :, None], (batch, height, width, channels))
    return ops.take_along_axis(images, cols, axis=2)


def color(images, uniform, brightness=BRIGHTNESS, contrast=CONTRAST):
    """Random brightness offset and contrast factor per image, clipped to [-1, 1]."""
    batch = ops.shape(images)[0]
    offset = (uniform((batch, 1, 1, 1)) * 2.0 - 1.0) * brightness
    factor = 1.0 + (uniform((batch, 1, 1, 1)) * 2.0 - 1.0) * contrast
    mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    images = (images - mean) * ops.cast(factor, images.dtype) + mean
    return ops.clip(images + ops.cast(offset, images.dtype), -1.0, 1.0)


_FUNCTIONS = {"flip": flip, "translate": translate, "color": color}


class Augmentation:
    """A sequence of named augmentations.

    Args:
        names: list of str, from `AUGMENTATIONS`: `"flip"` (random horizontal
            flip), `"translate"` (random shift up to 1/8 of the side, reflected
            border), `"color"` (random brightness and contrast).

    Example:
    >>> import keras
    >>> aug = Augmentation(["flip", "color"])
    >>> seed = keras.random.SeedGenerator(0)
    >>> out = aug(keras.ops.zeros((2, 8, 8, 3)), lambda s: keras.random.uniform(s, seed=seed))
    """

    def __init__(self, names):
        self.names = check_augmentations(names)

    def __call__(self, images, uniform):
        """Augments `images` with random numbers from `uniform(shape) -> U[0, 1)`.

        Each augmentation calls `uniform` for itself, so each draws from its
        own stretch of the stream: no two share random numbers.
        """
        for name in self.names:
            images = _FUNCTIONS[name](images, uniform)
        return images


def build_augmentation(names):
    """An `Augmentation` of `names`, or None when `names` is empty."""
    names = check_augmentations(names)
    return Augmentation(names) if names else None
