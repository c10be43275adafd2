"""Augmentations a model can switch on, written in `keras.ops` for every backend.

They run inside the model's `train_step` on batches in [-1, 1] and draw their
random numbers from the model's seed generator (so a saved model resumes
them exactly and every replica draws its own).

Two kinds (`keras_genart.data.augment_names`):
- `flip` is a data augmentation: GANs mirror the real pictures only, which
  doubles the data. Mirroring the generated ones too would hide from the
  discriminator which way a picture faces, and the generator would learn to
  draw one orientation only (in 64 of 64 samples of a demo model, before).
- `color`, `translation`, `cutout` are DiffAugment's policies (Zhao et al.,
  "Differentiable Augmentation for Data-Efficient GAN Training", 2020,
  https://arxiv.org/abs/2006.10738) with its strengths: applied to real and
  generated pictures in the discriminator's and the generator's step, and
  differentiable with respect to the pictures, so that the discriminator is
  harder to overfit and the generator is not taught to make augmented
  pictures. Like the paper's code they do not clip to [-1, 1].
- `translate` (keras_genart 0.x): a shift with a mirrored border, kept so
  that models saved with it train on as before.
"""

from keras import ops

from keras_genart.data.augment_names import (  # noqa: F401  (re-exported)
    AUGMENTATIONS, DIFFERENTIABLE, REAL_ONLY, check_augmentations)

# Largest shift of "translation" / "translate", as a share of the side (DiffAugment's 1/8).
TRANSLATE_RATIO = 0.125
# Side of the "cutout" square, as a share of the picture's side (DiffAugment's 1/2).
CUTOUT_RATIO = 0.5


def flip(images, uniform):
    """Mirrors each image left-right with probability 1/2."""
    coin = uniform((ops.shape(images)[0], 1, 1, 1))
    return ops.where(coin < 0.5, ops.flip(images, axis=2), images)


def _reflect(index, size):
    """Indices outside [0, size) mirrored back in (edge pixel not repeated)."""
    index = ops.abs(index)
    return (size - 1) - ops.abs((size - 1) - index)


def _shifts(images, uniform, ratio):
    """Per-image whole-pixel shifts `(rows, cols)`, each in [-max, max], as int32 `(batch, 1)`."""
    height, width = images.shape[1], images.shape[2]
    batch = ops.shape(images)[0]
    max_rows = max(1, int(height * ratio + 0.5))
    max_cols = max(1, int(width * ratio + 0.5))
    draw = uniform((batch, 2))
    rows = ops.floor(draw[:, :1] * (2 * max_rows + 1)) - max_rows
    cols = ops.floor(draw[:, 1:] * (2 * max_cols + 1)) - max_cols
    return ops.cast(rows, "int32"), ops.cast(cols, "int32")


def _gather(images, rows, cols):
    """`images[b, rows[b, i], cols[b, j]]` for index arrays `(batch, height)`, `(batch, width)`."""
    shape = ops.shape(images)
    batch, height, width, channels = shape[0], images.shape[1], images.shape[2], images.shape[3]
    rows = ops.broadcast_to(rows[:, :, None, None], (batch, height, width, channels))
    images = ops.take_along_axis(images, rows, axis=1)
    cols = ops.broadcast_to(cols[:, None, :, None], (batch, height, width, channels))
    return ops.take_along_axis(images, cols, axis=2)


def translate(images, uniform, ratio=TRANSLATE_RATIO):
    """Shifts each image by whole pixels, up to `ratio` of the side, reflecting the border."""
    height, width = images.shape[1], images.shape[2]
    shift_rows, shift_cols = _shifts(images, uniform, ratio)
    rows = _reflect(ops.arange(height, dtype="int32")[None, :] - shift_rows, height)
    cols = _reflect(ops.arange(width, dtype="int32")[None, :] - shift_cols, width)
    return _gather(images, rows, cols)


def translation(images, uniform, ratio=TRANSLATE_RATIO):
    """DiffAugment's translation: shift up to `ratio` of the side; the border is 0."""
    height, width = images.shape[1], images.shape[2]
    shift_rows, shift_cols = _shifts(images, uniform, ratio)
    rows = ops.arange(height, dtype="int32")[None, :] - shift_rows
    cols = ops.arange(width, dtype="int32")[None, :] - shift_cols
    inside = (ops.cast((rows >= 0) & (rows < height), images.dtype)[:, :, None, None]
              * ops.cast((cols >= 0) & (cols < width), images.dtype)[:, None, :, None])
    moved = _gather(images, ops.clip(rows, 0, height - 1), ops.clip(cols, 0, width - 1))
    return moved * inside


def color(images, uniform):
    """DiffAugment's colour: brightness, then saturation, then contrast, per image.

    Brightness adds U[-0.5, 0.5); saturation scales each pixel's distance from
    its channel mean by U[0, 2); contrast scales the distance from the
    picture's mean by U[0.5, 1.5).
    """
    batch = ops.shape(images)[0]

    def draw():
        return ops.cast(uniform((batch, 1, 1, 1)), images.dtype)

    images = images + (draw() - 0.5)
    mean = ops.mean(images, axis=3, keepdims=True)
    images = (images - mean) * (draw() * 2.0) + mean
    mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    return (images - mean) * (draw() + 0.5) + mean


def cutout(images, uniform, ratio=CUTOUT_RATIO):
    """DiffAugment's cutout: a square of `ratio` of the side, anywhere, set to 0."""
    height, width = images.shape[1], images.shape[2]
    batch = ops.shape(images)[0]
    size_rows, size_cols = int(height * ratio + 0.5), int(width * ratio + 0.5)
    # Centres as in the paper: 0 .. side (inclusive when the square's side is even).
    draw = uniform((batch, 2))
    centre_rows = ops.floor(draw[:, :1] * (height + 1 - size_rows % 2))
    centre_cols = ops.floor(draw[:, 1:] * (width + 1 - size_cols % 2))
    top = ops.cast(centre_rows, "int32") - size_rows // 2
    left = ops.cast(centre_cols, "int32") - size_cols // 2
    rows = ops.arange(height, dtype="int32")[None, :]
    cols = ops.arange(width, dtype="int32")[None, :]
    in_rows = ops.cast((rows >= top) & (rows < top + size_rows), images.dtype)
    in_cols = ops.cast((cols >= left) & (cols < left + size_cols), images.dtype)
    mask = 1.0 - in_rows[:, :, None, None] * in_cols[:, None, :, None]
    return images * mask


_FUNCTIONS = {"flip": flip, "translate": translate, "translation": translation,
              "color": color, "cutout": cutout}


class Augmentation:
    """A sequence of named augmentations.

    Args:
        names: list of str, from `AUGMENTATIONS`: `"flip"` (mirror left-right
            with probability 1/2; real pictures only), DiffAugment's
            `"color"`, `"translation"` and `"cutout"`, and `"translate"`
            (shift with a mirrored border).

    Example:
    >>> import keras
    >>> aug = Augmentation(["flip", "color"])
    >>> seed = keras.random.SeedGenerator(0)
    >>> out = aug(keras.ops.zeros((2, 8, 8, 3)), lambda s: keras.random.uniform(s, seed=seed))
    """

    def __init__(self, names):
        self.names = check_augmentations(names)
        self.differentiable = [n for n in self.names if n in DIFFERENTIABLE]

    def __call__(self, images, uniform, real=True):
        """Augments `images` with random numbers from `uniform(shape) -> U[0, 1)`.

        Args:
            images: tensor `(batch, height, width, channels)` in [-1, 1].
            uniform: callable `shape -> U[0, 1)` tensor.
            real: bool. Real pictures get every augmentation; generated ones
                (`real=False`) only the differentiable ones. Defaults to True.

        Each augmentation calls `uniform` for itself, so each draws from its
        own stretch of the stream: no two share random numbers.
        """
        for name in self.names if real else self.differentiable:
            images = _FUNCTIONS[name](images, uniform)
        return images


def build_augmentation(names):
    """An `Augmentation` of `names`, or None when `names` is empty."""
    names = check_augmentations(names)
    return Augmentation(names) if names else None
