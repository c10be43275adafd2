"""Pictures out: value conversion, image grids and PNG files with provenance.

NumPy and Pillow only, so that callbacks, the CLI and the TensorFlow-free
serving runtime share one implementation.
"""

import io
import math
import os

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo


def to_uint8(images):
    """Converts images with values in [0, 1] to uint8 in [0, 255]."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)


def to_unit_float(pictures):
    """Pictures as float32 in [0, 1]: uint8 ones divided by 255, float ones checked."""
    pictures = np.asarray(pictures)
    if pictures.dtype == np.uint8:
        return pictures.astype(np.float32) / 255.0
    if pictures.dtype.kind not in "fiu":
        raise ValueError(f"pictures must be uint8 or floats in [0, 1], got {pictures.dtype}")
    pictures = pictures.astype(np.float32)
    if pictures.size and not (np.isfinite(pictures).all() and pictures.min() >= 0.0
                              and pictures.max() <= 1.0):
        raise ValueError("float pictures must be in [0, 1] (uint8 ones in 0..255); got "
                         f"values from {pictures.min():.3g} to {pictures.max():.3g}")
    return pictures


def picture_batch(pictures, image_size, channels):
    """Pictures `(n, image_size, image_size, channels)` (or one without the batch axis),
    uint8 or floats in [0, 1], as a float32 batch in [0, 1]; a ValueError for another
    shape (`to_unit_float` for the values)."""
    pictures = to_unit_float(pictures)
    if pictures.ndim == 3:
        pictures = pictures[None]
    shape = (int(image_size), int(image_size), int(channels))
    if pictures.ndim != 4 or pictures.shape[1:] != shape:
        raise ValueError(f"pictures must have shape (n, {', '.join(map(str, shape))}) "
                         f"(or one picture {shape}); got {pictures.shape}")
    return pictures


def load_picture(path, image_size, channels=3):
    """A picture file as uint8 `(image_size, image_size, channels)`, prepared like training
    data: EXIF orientation, transparency on white, centre square, resized with antialiasing.

    Raises ValueError (with the reason) for a missing, unreadable or unusable file.
    """
    from keras_genart.data.image_folder import SkippedImage, load_image

    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such picture file")
    try:
        picture = load_image(path, int(image_size), min_size=1)
    except SkippedImage as error:
        raise ValueError(f"{path}: cannot read this picture ({error})") from None
    if int(channels) == 1:  # ITU-R 601 luma, as PIL's convert("L")
        luma = picture.astype(np.float32) @ np.asarray([0.299, 0.587, 0.114], np.float32)
        picture = np.clip(np.round(luma), 0, 255).astype(np.uint8)[..., None]
    return picture


def make_grid(images, cols=None, padding=2, pad_value=255):
    """Tiles a batch of images into one picture.

    Args:
        images: array `(n, h, w, c)`, uint8 or float in [0, 1].
        cols: int. Columns of the grid. Defaults to ceil(sqrt(n)).
        padding: int. Pixels between tiles and around the border. Defaults to 2.
        pad_value: int. Gray level of the padding. Defaults to 255 (white).

    Returns:
        uint8 array `(H, W, c)`.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        images = to_uint8(images)
    if images.ndim != 4:
        raise ValueError(f"images must be (n, h, w, c), got shape {images.shape}")
    n, h, w, c = images.shape
    cols = int(cols or math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    grid = np.full(
        (rows * (h + padding) + padding, cols * (w + padding) + padding, c),
        pad_value,
        dtype=np.uint8,
    )
    for i, image in enumerate(images):
        r, col = divmod(i, cols)
        y = padding + r * (h + padding)
        x = padding + col * (w + padding)
        grid[y : y + h, x : x + w] = image
    return grid


def to_pil(image):
    """A uint8 `(h, w, c)` array as a PIL image (c is 1 or 3)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = to_uint8(image)
    if image.shape[-1] == 1:
        return Image.fromarray(image[..., 0], mode="L")
    return Image.fromarray(image, mode="RGB")


def png_bytes(image, metadata=None):
    """Encodes an image as PNG, with `metadata` as PNG text chunks."""
    info = PngInfo()
    for key, value in (metadata or {}).items():
        info.add_text(str(key), str(value))
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def save_png(path, image, metadata=None):
    """Writes a PNG atomically (write to a temporary name, then rename)."""
    atomic_write_bytes(path, png_bytes(image, metadata))


def control_provenance(class_names=None, label=None, truncation=None, per_class=False):
    """The PNG text chunks that say which class and truncation made a picture.

    Args:
        class_names: list of str. A conditional model's classes; None or empty
            for an unconditional one.
        label: the one class (name or index) every picture was asked for;
            None (or a list, one per picture): not named.
        truncation: float. The truncation psi; None for none.
        per_class: bool. A grid with one row per class.
    """
    from keras_genart.latents import TRUNCATION_RECIPE, resolve_labels

    chunks = {}
    if class_names:
        one = label is not None and np.ndim(label) == 0 and not per_class
        chunks["keras_genart.classes"] = ",".join(class_names)
        chunks["keras_genart.class"] = (
            "one row per class" if per_class else
            class_names[int(resolve_labels(label, 1, class_names)[0])] if one
            else "the classes in turn")
    if truncation is not None:
        chunks["keras_genart.truncation"] = f"{truncation} ({TRUNCATION_RECIPE})"
    return chunks


ANIMATION_FORMATS = {".gif": "GIF", ".webp": "WEBP"}


def animation_bytes(frames, suffix, frame_ms=100, metadata=None):
    """Encodes frames `(n, h, w, c)` as a looping animated GIF or WebP (`suffix`)."""
    kind = ANIMATION_FORMATS.get(suffix.lower())
    if kind is None:
        raise ValueError(f"an animation is written as {' or '.join(ANIMATION_FORMATS)}, "
                         f"not {suffix!r}")
    pictures = [to_pil(frame) for frame in frames]
    buffer = io.BytesIO()
    extra = {"comment": "; ".join(f"{k}={v}" for k, v in (metadata or {}).items()).encode()}
    if kind == "WEBP":
        extra = {"lossless": True}
    pictures[0].save(buffer, format=kind, save_all=True, append_images=pictures[1:],
                     duration=int(frame_ms), loop=0, **extra)
    return buffer.getvalue()


def atomic_write_bytes(path, data):
    """Writes `data` to `path` so that readers never see a half-written file."""
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def provenance(model_type, model, seed):
    """The PNG text chunks every keras_genart picture carries, wherever it was made
    (`genart sample`, the server's `:sample`, exported pictures).

    Args:
        model_type: str. `dcgan`, `wgan-gp`, `vae`.
        model: str. What made it: a run folder, a `.keras` path or `NAME/VERSION`.
        seed: int or None. The seed of the latents.
    """
    from keras_genart._version import __version__
    from keras_genart.latents import LATENT_RECIPE

    chunks = {"Software": f"keras_genart {__version__}",
              "keras_genart.model_type": model_type,
              "keras_genart.model": model,
              "keras_genart.latents": LATENT_RECIPE,
              "keras_genart.version": __version__}
    if seed is not None:
        chunks["keras_genart.seed"] = seed
    return chunks
