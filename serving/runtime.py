"""`Generator`: an exported version folder run with onnxruntime."""

import hashlib
import os

import numpy as np

from keras_genart import imaging
from keras_genart import pictures as verbs  # `pictures` names arrays of pictures here
from keras_genart.contract import (
    METADATA_FILE,
    VERSION_PATTERN,
    read_metadata,
)
from keras_genart.latents import (latents_in_classes, picture_labels, resolve_labels,
                                  sample_truncated_latents, slerp)

# `slerp` stays importable from here (`keras_genart.serving.slerp`).
__all__ = ["Generator", "find_versions", "metadata_classes", "slerp"]


def find_versions(model_dir):
    """Complete version folders under `model_dir`, as sorted ints.

    A version counts once its folder holds `metadata.json` and `model.onnx`
    (the exporter renames whole folders into place, so both appear together).
    """
    if not os.path.isdir(model_dir):
        return []
    versions = []
    for entry in os.scandir(model_dir):
        if VERSION_PATTERN.fullmatch(entry.name) and entry.is_dir() and all(
                os.path.exists(os.path.join(entry.path, f)) for f in (METADATA_FILE, "model.onnx")):
            versions.append(int(entry.name))
    return sorted(versions)


def metadata_classes(metadata):
    """`(class_names, latent_class_names, latent_class_shares)` of an export's metadata:
    a conditional model's classes (its `label` input), and the classes a model with
    latent-coded classes reads from its latents and their shares; None where the model
    has none."""
    class_names = list(metadata["class_names"]) if metadata.get("conditional") else None
    coded = metadata.get("latent_classes") or {}
    if not coded:
        return class_names, None, None
    return class_names, list(coded["class_names"]), list(coded["shares"])


class Generator:
    """An exported generator, run with onnxruntime.

    It has the generator protocol of `keras_genart.pictures` (as the Keras
    models do), so the picture verbs work on it alike.

    Args:
        version_dir: str. A version folder written by `genart export`
            (`model.onnx` + `metadata.json`).
        verify: bool. Check `model.onnx` against the sha256 in the metadata.
            Defaults to True.
        threads: int. onnxruntime intra-op threads. Defaults to onnxruntime's
            choice.
        batch_size: int. Most latents per onnxruntime run: `run` takes any
            number, `batch_size` at a time, so that the network's activations
            stay bounded. Defaults to 256.

    Example:
    >>> gen = Generator("exported/dcgan/1")
    >>> pictures = gen.sample(4, seed=0)          # uint8 (4, H, W, 3)
    >>> png = gen.sample_png(16, seed=0)          # a grid as PNG bytes
    >>> # a VAE export (encoder.onnx beside model.onnx):
    >>> # gen.vary(imaging.load_picture("cat.png", gen.image_size), n=8, spread=0.5)
    """

    def __init__(self, version_dir, verify=True, threads=None, batch_size=256):
        import onnxruntime as ort

        self.path = os.fspath(version_dir)
        self.batch_size = int(batch_size)
        self.metadata = read_metadata(self.path)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        self.session = self._open("model.onnx", options, verify)
        # A VAE's encoder.onnx (vary, reconstruct); None for GANs and older exports.
        encoder = (self.metadata.get("onnx") or {}).get("encoder")
        self.encoder_session = self._open(encoder["file"], options, verify) if encoder else None
        self.latent_dim = int(self.metadata["latent_dim"])
        self.image_size = int(self.metadata["image_size"])
        self.channels = int(self.metadata["channels"])
        # A conditional model's classes (its `label` input), and latent-coded classes
        # (the generator reads the class from z): asked for by moving the latents into
        # the class's arc, as the Keras model's `generate` does.
        self.class_names, self.latent_class_names, self.latent_class_shares = \
            metadata_classes(self.metadata)

    def _open(self, filename, options, verify):
        """An onnxruntime session of one of the version's files, checked against the sha256
        in its metadata.

        The file is read once, and the bytes that were hashed are the bytes that load:
        opened again by path, a `--force` export swapping the folder in between would
        pair this metadata with another model."""
        import onnxruntime as ort

        path = os.path.join(self.path, filename)
        with open(path, "rb") as f:
            model = f.read()
        expected = self.metadata.get("sha256", {}).get(filename)
        if verify and expected and hashlib.sha256(model).hexdigest() != expected:
            raise ValueError(
                f"{path} does not match the sha256 in {METADATA_FILE}; the file is "
                "incomplete or was changed after export")
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def __repr__(self):
        return (f"Generator({self.path!r}, {self.metadata['model_type']}, "
                f"{self.image_size}px, latent_dim={self.latent_dim})")

    @property
    def model_type(self):
        """`dcgan`, `wgan-gp` or `vae`: the exported model's type."""
        return self.metadata["model_type"]

    @property
    def label_names(self):
        """The classes `sample` and `run` can be asked for (None: no classes)."""
        return self.class_names or self.latent_class_names

    @property
    def num_classes(self):
        """Number of classes of a conditional model; 0 for others."""
        return len(self.class_names) if self.class_names else 0

    def labels(self, label, n):
        """int labels `(n,)` of a conditional model from a class (name or index), a list
        of them or None (the classes in turn); None for an unconditional model."""
        return resolve_labels(label, n, self.class_names)

    def run(self, z, label=None):
        """float32 images `(n, H, W, C)` in [0, 1] for latents `(n, latent_dim)` (and, for
        a conditional model, classes: see `labels`)."""
        z = np.ascontiguousarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (n, {self.latent_dim}), got {z.shape}")
        if self.latent_class_names and label is not None:
            z = latents_in_classes(z, resolve_labels(label, len(z), self.latent_class_names),
                                   self.latent_class_shares)
            label = None
        labels = self.labels(label, len(z))
        out = []
        for start in range(0, max(len(z), 1), self.batch_size):  # no latents: one empty run
            feed = {"z": z[start:start + self.batch_size]}
            if labels is not None:
                feed["label"] = labels[start:start + self.batch_size].astype(np.int64)
            out.append(self.session.run(["images"], feed)[0])
        return out[0] if len(out) == 1 else np.concatenate(out)

    def generate_from_latents(self, z, labels=None, class_weights=None):
        """float32 pictures in [0, 1] for latents (the protocol of `keras_genart.pictures`:
        `run`). Blends of classes (`class_weights`) need the Keras model."""
        if class_weights is not None:
            raise ValueError("a blend of classes (class_weights) needs the Keras model: an "
                             "exported conditional generator takes one class per picture")
        return self.run(z, labels)

    def latents(self, n, seed=0, truncation=None):
        """keras_genart's latent recipe (see `keras_genart.latents`)."""
        return sample_truncated_latents(n, self.latent_dim, seed, truncation)

    def sample(self, n, seed=0, label=None, truncation=None):
        """`n` pictures as uint8 `(n, H, W, C)`; the same seed (class, truncation) as
        `genart sample`."""
        return imaging.to_uint8(verbs.sample(self, n, seed, label, truncation))

    def interpolate(self, seed_a, seed_b, steps=8, label=None, truncation=None):
        """uint8 pictures along the spherical path from seed_a's latent to seed_b's (a
        conditional model's walk keeps one class: `label`, by default the first)."""
        return imaging.to_uint8(verbs.walk(self, seed_a, seed_b, steps, label,
                                           truncation=truncation))

    def encode(self, pictures, label=None):
        """A VAE's `(mean, log_var)` float32 `(n, latent_dim)` of pictures `(n, H, W, C)` (or
        one), uint8 or floats in [0, 1]; a conditional VAE also needs their class."""
        if self.encoder_session is None:
            raise ValueError(f"{self.path} has no encoder.onnx: encode, reconstruct and vary "
                             f"are for VAEs (this is a {self.metadata['model_type']}), "
                             "exported with ONNX by this version of keras_genart")
        pictures = imaging.picture_batch(pictures, self.image_size, self.channels)
        feed = {"images": np.ascontiguousarray(pictures, np.float32)}
        labels = picture_labels(label, len(pictures), self.class_names)
        if labels is not None:
            feed["label"] = labels.astype(np.int64)
        mean, log_var = self.encoder_session.run(["mean", "log_var"], feed)
        return mean, log_var

    def encode_pictures(self, pictures, labels=None):
        """`encode` by the name of the protocol of `keras_genart.pictures`."""
        return self.encode(pictures, labels)

    def reconstruct(self, pictures, label=None):
        """A VAE's uint8 pictures decoded from the encoded means of `pictures`."""
        return imaging.to_uint8(verbs.reconstruct(self, pictures, label))

    def vary(self, picture, n=8, seed=0, spread=0.5, label=None, to_label=None):
        """A VAE's `n` uint8 variations of one picture: the same pictures as the Keras
        model's `vary` (`keras_genart.latents.variation_latents`)."""
        return imaging.to_uint8(verbs.vary(self, picture, n, seed, spread, label, to_label))

    def png(self, images):
        """PNG bytes for each uint8 picture (from latents sent by a client: no seed)."""
        return [imaging.png_bytes(image, {**self._provenance(None), "keras_genart.index": i})
                for i, image in enumerate(images)]

    def sample_png(self, n, seed=0, cols=None, label=None, truncation=None):
        """A grid of `n` pictures as PNG bytes, with the same provenance text chunks
        as `genart sample`."""
        grid = imaging.make_grid(self.sample(n, seed, label, truncation), cols=cols)
        chunks = imaging.control_provenance(self.label_names, label, truncation)
        return imaging.png_bytes(grid, {**self._provenance(seed), **chunks,
                                        "keras_genart.n": n})

    def _provenance(self, seed):
        return {**imaging.provenance(
            self.metadata["model_type"],
            f"{self.metadata.get('name')}/{self.metadata.get('version')}", seed),
            "keras_genart.exported_by": str(self.metadata.get("versions", {}).get(
                "keras_genart", ""))}
