"""Data sources (image folder, TFDS, built-in art), cleaning, batches and augmentation."""

from keras_genart.data.image_folder import load_image_folder
from keras_genart.data.sources import (
    DEFAULT_SOURCE,
    ImageData,
    check_image_size,
    load_images,
    open_prepared,
    parse_source,
)
from keras_genart.data.shards import is_prepared
from keras_genart.data.pipeline import make_dataset

__all__ = ["DEFAULT_SOURCE", "ImageData", "check_image_size", "load_image_folder",
           "is_prepared", "load_images", "make_dataset", "open_prepared", "parse_source"]
