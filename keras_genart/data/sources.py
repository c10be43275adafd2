"""`--data SOURCE` strings -> images: a folder, `tfds:NAME[:SPLIT]`, `builtin:NAME`."""

import dataclasses
import functools
import os

import numpy as np

from keras_genart.data import builtin_art
from keras_genart.data.image_folder import describe_summary, load_image_folder
from keras_genart.data.shards import is_prepared, open_shards
from keras_genart.errors import UserInputError, require_tensorflow
from keras_genart.options import check_image_size  # re-exported: its old home

DEFAULT_SOURCE = "builtin:abstract"
BUILTIN_DEFAULT_SIZE = 4096

# Levels (of 255) by which red, green and blue of a gray picture's pixel may differ.
GRAY_TOLERANCE = 3


@dataclasses.dataclass
class ImageData:
    """Images of one source, before batching.

    Attributes:
        images: uint8 NumPy array `(n, s, s, 3)`.
        labels: int32 NumPy array `(n,)` of class indices, or None when the
            source has no classes.
        num_images: int. Number of images.
        image_size: int. Side of the square images.
        class_names: list of str. Empty when the source has no classes.
        summary: dict. What was read and skipped, for the run's metadata.
        grayscale: bool (computed when first read). Whether every picture is
            gray: red, green and blue within `GRAY_TOLERANCE` of each other
            in every pixel (gray JPEGs saved as colour differ by a level or
            two).
    """

    images: object
    labels: object
    num_images: int
    image_size: int
    class_names: list
    summary: dict

    def describe(self):
        """One line for the console."""
        text = f"{self.summary['source']}: {self.num_images} images"
        if "skipped" in self.summary:
            text = f"{self.summary['source']}: {describe_summary(self.summary)}"
        if self.class_names:
            text += f", {len(self.class_names)} classes"
        if self.grayscale:
            text += ", gray"
        return text

    @functools.cached_property
    def grayscale(self):
        # Chunks of about 2**22 values: bounded temporary memory at any picture size.
        per_chunk = max(1, 2**22 // max(1, int(np.prod(self.images.shape[1:]))))
        for start in range(0, len(self.images), per_chunk):
            chunk = np.asarray(self.images[start:start + per_chunk], np.int16)
            if (np.abs(chunk[..., 0] - chunk[..., 1]).max(initial=0) > GRAY_TOLERANCE
                    or np.abs(chunk[..., 1] - chunk[..., 2]).max(initial=0) > GRAY_TOLERANCE):
                return False
        return len(self.images) > 0


def parse_source(source):
    """Splits a source string into `(kind, parts)`; kind is folder/tfds/builtin."""
    if not isinstance(source, str) or not source:
        raise UserInputError(f"data source must be a non-empty string, got {source!r}")
    for kind in ("tfds", "builtin"):
        if source.startswith(kind + ":"):
            parts = source.split(":")[1:]
            if not parts[0] or len(parts) > 2:
                raise UserInputError(
                    f"bad data source {source!r}; expected '{kind}:NAME' or "
                    f"'{kind}:NAME:{'SPLIT' if kind == 'tfds' else 'COUNT'}'"
                )
            return kind, parts
    return "folder", [source]


def load_images(source=DEFAULT_SOURCE, image_size=32, seed=0,
                tfds_data_dir=None, min_size=None):
    """Reads a data source as square uint8 RGB images.

    Args:
        source: str. A folder path, `"tfds:NAME[:SPLIT]"` (read from
            `tfds_data_dir`, never downloaded) or `"builtin:NAME[:COUNT]"`
            (the procedural art set, see `keras_genart.data.builtin_art`).
            Defaults to `"builtin:abstract"`.
        image_size: int. Side of the output squares. Defaults to 32.
        seed: int. Seed of the built-in set. Defaults to 0.
        tfds_data_dir: str. Where TFDS data sets are prepared. Defaults to
            TFDS' own default (`~/tensorflow_datasets`).
        min_size: int. Folder images with a shorter side are skipped.
            Defaults to `image_size // 2`.

    Returns:
        `ImageData`.

    Example:
    >>> data = load_images("builtin:mondrian:64", image_size=16)
    >>> data.num_images
    64
    """
    kind, parts = parse_source(source)
    if kind == "builtin":
        name = parts[0]
        if name not in builtin_art.DATASETS:
            raise UserInputError(
                f"unknown built-in data set {name!r} in {source!r}; choose from "
                + ", ".join(f"builtin:{n}" for n in builtin_art.DATASETS)
            )
        count = _parse_count(parts[1], source) if len(parts) > 1 else BUILTIN_DEFAULT_SIZE
        images, labels, names = builtin_art.make_art(name, count, image_size, seed)
        if len(names) == 1:
            labels, names = None, []
        summary = {"source": source, "kind": "builtin", "seed": int(seed),
                   "num_images": count}
        return ImageData(images, _labels(labels), count, image_size, names, summary)
    if kind == "folder" and is_prepared(parts[0]):
        return open_prepared(parts[0], image_size)
    if kind == "folder":
        images, labels, names, summary = load_image_folder(
            parts[0], image_size, min_size=min_size
        )
        summary = {"source": os.path.abspath(parts[0]), "kind": "folder", **summary}
        return ImageData(images, _labels(labels), len(images), image_size, names, summary)
    return _load_tfds(parts[0], parts[1] if len(parts) > 1 else "train",
                      image_size, tfds_data_dir, source)


def open_prepared(path, image_size=None):
    """Opens a data set written by `genart prepare` (`keras_genart.data.prepare`).

    The pictures stay on disk and are read on demand (`images` is a
    `keras_genart.data.shards.PreparedImages`); the labels are read into memory;
    whether the set is gray comes from the manifest, without a scan. The shards
    are checked against the manifest (present, sizes, record counts) first.

    Args:
        path: str. The prepared set's folder (it holds `manifest.json`).
        image_size: int. The size the caller needs; a set of another size is
            an error. Defaults to None (the set's own).

    Returns:
        `ImageData` whose summary has kind "prepared" and the source it was
        prepared from.
    """
    manifest, images, labels = open_shards(path, image_size)
    summary = {"source": os.path.abspath(path), "kind": "prepared",
               "prepared_from": manifest["source"], "num_images": manifest["count"],
               "content_hash": manifest["content_hash"], **manifest["skip_report"]}
    data = ImageData(images, labels, manifest["count"], manifest["image_size"],
                     list(manifest["class_names"]), summary)
    data.grayscale = bool(manifest["grayscale"])  # fills the cached property: no scan
    return data


def _labels(labels):
    return None if labels is None else np.asarray(labels, np.int32)


def _parse_count(text, source):
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise UserInputError(f"bad image count {text!r} in {source!r}; expected a positive integer")
    return count


def _load_tfds(name, split, image_size, data_dir, source):
    tf = require_tensorflow(f"reading {source!r} (TensorFlow Datasets)")
    import tensorflow_datasets as tfds

    hint = (
        f"prepare it once on a machine with internet (`tfds build {name}"
        + (f" --data_dir {data_dir}" if data_dir else "")
        + "`, or `tfds.builder(...).download_and_prepare()`) and pass its "
        "folder with --tfds-data-dir; keras_genart never downloads at run time"
    )
    try:
        dataset, info = tfds.load(name, split=split, data_dir=data_dir,
                                  download=False, with_info=True)
    except tfds.core.registered.DatasetNotFoundError as e:
        raise UserInputError(f"unknown TFDS data set {name!r} in {source!r}: {e}") from e
    except AssertionError as e:  # what TFDS raises for data that isn't prepared
        raise UserInputError(
            f"TFDS data set {name!r} is not prepared in "
            f"{data_dir or '~/tensorflow_datasets'}: {hint}"
        ) from e
    except ValueError as e:  # e.g. an unknown split
        raise UserInputError(f"cannot read {source!r}: {e}") from e

    features = info.features
    image_key = next(
        (k for k, f in features.items() if isinstance(f, tfds.features.Image)), None
    )
    if image_key is None:
        raise UserInputError(f"TFDS data set {name!r} has no image feature")
    label_feature = features["label"] if "label" in features.keys() else None
    has_labels = isinstance(label_feature, tfds.features.ClassLabel)
    class_names = list(label_feature.names) if has_labels else []

    def prepare(example):
        image = to_square_rgb_uint8(example[image_key], image_size)
        if has_labels:
            return image, tf.cast(example["label"], tf.int32)
        return image

    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    # Decoded into memory once, like the other sources: training then draws
    # batches by index (exact resume, any backend).
    images, labels = [], []
    for example in tfds.as_numpy(dataset.batch(1024)):
        if has_labels:
            images.append(example[0])
            labels.append(example[1])
        else:
            images.append(example)
    if not images:
        raise UserInputError(f"{source!r} has no examples")
    images = np.concatenate(images)
    labels = np.concatenate(labels).astype(np.int32) if has_labels else None
    summary = {"source": source, "kind": "tfds", "name": name, "split": split,
               "num_images": len(images), "version": str(info.version)}
    return ImageData(images, labels, len(images), image_size, class_names, summary)


def to_square_rgb_uint8(image, image_size):
    """TF image of any channel count -> uint8 RGB square, antialiased."""
    tf = require_tensorflow("TFDS images")

    image = tf.convert_to_tensor(image)
    channels = image.shape[-1]
    if image.dtype != tf.uint8:
        image = tf.image.convert_image_dtype(image, tf.float32)
    else:
        image = tf.cast(image, tf.float32) / 255.0
    if channels == 1:
        image = tf.tile(image, [1, 1, 3])
    elif channels == 2:  # gray + alpha
        image = tf.tile(image[..., :1], [1, 1, 3]) * image[..., 1:] + (1 - image[..., 1:])
    elif channels == 4:
        image = image[..., :3] * image[..., 3:] + (1 - image[..., 3:])
    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    image = tf.image.resize_with_crop_or_pad(image, side, side)
    image = tf.image.resize(image, (image_size, image_size), method="bicubic",
                            antialias=True)
    image = tf.clip_by_value(tf.round(image * 255.0), 0, 255)
    return tf.ensure_shape(tf.cast(image, tf.uint8), (image_size, image_size, 3))


__all__ = ["ImageData", "load_images", "open_prepared", "parse_source", "check_image_size",
           "DEFAULT_SOURCE"]
