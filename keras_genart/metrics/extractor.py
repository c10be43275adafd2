"""What the Keras feature extractors share, and a user's `.keras` model as one.

`keras_genart.metrics.features` (the named extractors) and
`keras_genart.metrics.classifier` (the style classifier) both build on it.
"""

import os

import numpy as np

from keras_genart.errors import UserInputError


def check_pictures(images):
    """Pictures `(n, h, w, 3)` as an array, as they are (not converted).

    Raises `UserInputError` for another shape.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise UserInputError(f"pictures must be (n, h, w, 3), got shape {images.shape}")
    return images


def as_unit_float(images):
    """Pictures `(n, h, w, 3)` (uint8, or floats in [0, 1]) as float32 in [0, 1].

    Raises `UserInputError` for another shape or non-finite values.
    """
    images = check_pictures(images)
    if images.dtype == np.uint8:
        unit = images.astype(np.float32)
        unit /= 255.0  # in place: one float32 copy, not two
        return unit
    images = images.astype(np.float32)
    if not np.isfinite(images).all():
        raise UserInputError("pictures contain NaN or infinite values")
    return images


def unit_float_batches(images, batch_size):
    """`(start, batch)` for each `batch_size` pictures of a set, the batch as float32 in
    [0, 1] (`as_unit_float`): converted one batch at a time, since a whole set as
    float32 takes four times its uint8 memory (tens of GB for large sets)."""
    images = check_pictures(images)
    for start in range(0, len(images), batch_size):
        yield start, as_unit_float(images[start:start + batch_size])


class KerasExtractor:
    """Base of the Keras extractors: pictures -> `self.model(self.preprocess(batch))`.

    A subclass sets `model` (pictures in [0, 1] -> vectors), `dim` and
    `identity`, and may override `preprocess`; calling it returns float32
    `(n, dim)`, `batch_size` pictures at a time.
    """

    batch_size = 256

    def __call__(self, images, progress=None):
        from keras import ops

        out = []
        for start, batch in unit_float_batches(images, self.batch_size):
            features = self.model(self.preprocess(batch), training=False)
            out.append(np.asarray(ops.convert_to_numpy(features), np.float32).reshape(len(batch), -1))
            if progress is not None:
                progress(start + len(batch))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def preprocess(self, images):
        return images


class KerasModelFeatures(KerasExtractor):
    """A user's `.keras` model: pictures in [0, 1], resized to its input size, -> vectors."""

    name, version = "keras_model", 1

    def __init__(self, path):
        import keras

        if not os.path.exists(path):
            raise UserInputError(f"feature model '{path}' does not exist")
        try:
            self.model = keras.saving.load_model(path, compile=False)
        except Exception as e:
            raise UserInputError(f"cannot load feature model '{path}': {e}") from e
        shape = self.model.input_shape
        if not isinstance(shape, tuple) or len(shape) != 4 or shape[-1] != 3:
            raise UserInputError(
                f"feature model '{path}' takes inputs of shape {shape}; it must take "
                "pictures (batch, height, width, 3)")
        self.path, self.input_size = path, shape[1]
        self.dim = int(np.prod([d for d in self.model.output_shape[1:]]))

    def preprocess(self, images):
        from keras import ops

        if self.input_size is None or images.shape[1] == self.input_size:
            return images
        return ops.image.resize(images, (self.input_size, self.input_size), antialias=True)

    @property
    def identity(self):
        return {"name": self.name, "version": self.version, "path": os.path.abspath(self.path),
                "dim": self.dim}
