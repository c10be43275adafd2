"""Images from a folder: found recursively, cleaned, made square, resized."""

import collections
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image, ImageOps

from keras_genart.errors import UserInputError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")

# Decompression bombs are refused, not decoded: a 16k x 16k image is plenty.
_MAX_PIXELS = 16384 * 16384


class SkippedImage(Exception):
    """An image that cleaning rejects; its message is the reason."""


def _to_rgb(image):
    """Any PIL mode as 8-bit RGB; transparency is composited on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I") and array.max() > 255 else 255.0
        if image.mode == "F" and array.max() <= 1.0:
            top = 1.0
        array = np.clip(array / top * 255.0, 0, 255).astype(np.uint8)
        image = Image.fromarray(array, mode="L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    return image.convert("RGB")


def center_crop_resize(image, image_size):
    """Center-crops a PIL image to a square and resizes it with antialiasing."""
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if side != image_size:
        image = image.resize((image_size, image_size), Image.LANCZOS)
    return image


def load_image(path, image_size, min_size):
    """Reads one file as a clean uint8 RGB square, or raises `SkippedImage`."""
    if os.path.getsize(path) == 0:
        raise SkippedImage("empty file")
    try:
        with Image.open(path) as image:
            if image.width * image.height > _MAX_PIXELS:
                raise SkippedImage("too large")
            image.seek(0)  # first frame of animations
            image.load()
            image = ImageOps.exif_transpose(image)
            if min(image.size) < min_size:
                raise SkippedImage(f"too small (< {min_size} px)")
            image = _to_rgb(image)
            image = center_crop_resize(image, image_size)
            return np.asarray(image, dtype=np.uint8)
    except SkippedImage:
        raise
    except (OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError) as e:
        reason = "truncated" if "truncated" in str(e).lower() else "unreadable"
        raise SkippedImage(reason) from e


def scan_folder(folder):
    """`([(path, class_name or None)], Counter of files that aren't taken)`, sorted by path."""
    entries = sorted(os.scandir(folder), key=lambda e: e.name)
    class_dirs = [e for e in entries if e.is_dir() and not e.name.startswith(".")]
    labelled = any(_has_images(e.path) for e in class_dirs)
    files, other = [], collections.Counter()
    roots = [(e.path, e.name) for e in class_dirs] if labelled else [(folder, None)]
    if labelled:
        for e in entries:
            if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS):
                other["not in a class sub-folder"] += 1
    for root, label in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                if name.lower().endswith(IMAGE_EXTENSIONS):
                    files.append((os.path.join(dirpath, name), label))
                else:
                    other["not an image file"] += 1
    return files, other


def clean_file(path, image_size, min_size):
    """`(uint8 square, None)` for a usable file, `(None, reason)` for one cleaning skips."""
    try:
        return load_image(path, image_size, min_size), None
    except SkippedImage as e:
        return None, str(e)


def _has_images(folder):
    for _, _, filenames in os.walk(folder):
        if any(n.lower().endswith(IMAGE_EXTENSIONS) for n in filenames):
            return True
    return False


def check_folder(folder):
    """The folder, or a UserInputError naming it when it is not one."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise UserInputError(
            f"data folder '{folder}' does not exist or is not a folder; pass a "
            "folder of images, 'builtin:NAME' or 'tfds:NAME[:SPLIT]'"
        )
    return folder


def load_image_folder(folder, image_size, min_size=None, workers=None):
    """Loads every usable image under a folder.

    Images are found recursively (jpg, jpeg, png, webp, bmp, gif first frame).
    When the folder has sub-folders that hold images, their names are the class
    labels (files directly in the folder are then skipped, as in
    `keras.utils.image_dataset_from_directory`). Unreadable, truncated, empty,
    non-image and too-small files are skipped and counted, never fatal.
    Grayscale, palette, 16-bit, CMYK and transparent images become RGB (alpha
    composited on white); EXIF orientation is applied; each image is
    center-cropped to a square and resized with antialiasing.

    Args:
        folder: str. The folder.
        image_size: int. Side of the output squares in pixels.
        min_size: int. Images whose short side is smaller are skipped.
            Defaults to `image_size // 2`.
        workers: int. Decoding threads. Defaults to the number of CPUs.

    Returns:
        `(images, labels, class_names, summary)`: uint8 `(n, s, s, 3)`, int32
        `(n,)` or None, list of str, and a dict with `kept`, `skipped` and the
        skip `reasons`.
    """
    folder = check_folder(folder)
    min_size = image_size // 2 if min_size is None else int(min_size)
    files, reasons = scan_folder(folder)

    def work(item):
        return (*clean_file(item[0], image_size, min_size), item[1])

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        results = [(img, label, why) for img, why, label in pool.map(work, files)]
    kept = [(img, label) for img, label, why in results if why is None]
    for _, _, why in results:
        if why is not None:
            reasons[why] += 1
    summary = {"kept": len(kept), "skipped": sum(reasons.values()),
               "reasons": dict(sorted(reasons.items()))}
    if not kept:
        raise UserInputError(
            f"no usable image in folder '{folder}' (looked recursively for "
            f"{', '.join(IMAGE_EXTENSIONS)}); {describe_summary(summary)}"
        )
    images = np.stack([img for img, _ in kept])
    class_names = sorted({label for _, label in kept if label is not None})
    if class_names:
        index = {name: i for i, name in enumerate(class_names)}
        labels = np.array([index[label] for _, label in kept], np.int32)
    else:
        labels = None
    return images, labels, class_names, summary


def describe_summary(summary):
    """One line: 'kept N, skipped M (reasons)'."""
    text = f"kept {summary['kept']}, skipped {summary['skipped']}"
    if summary["reasons"]:
        text += " (" + ", ".join(f"{n} {r}" for r, n in summary["reasons"].items()) + ")"
    return text
