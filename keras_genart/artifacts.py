"""Opening what keras_genart writes: run folders, `.keras` files, exported versions and
folders of pictures.

`find_model(path)` says what a path holds without loading a backend: which kind
of artifact it is, the file that loads, the model's classes (from the `.keras`
file's `config.json` or the export's `metadata.json`). So a wrong path, a
folder that is not a run or an unknown class fails in milliseconds, before
TensorFlow or JAX loads. `open_model` then gives an object with the generator
protocol of `keras_genart.pictures`: the Keras model of a run folder or a
`.keras` file, or the onnxruntime `keras_genart.serving.Generator` of an
exported version (no TensorFlow).

This module sits above `models`, `data` and `serving`, which it opens, and
below the CLI; metrics take the pictures it makes as arguments.

Example:
>>> artifact = find_model("runs/demo")          # no backend loaded yet
>>> artifact.kind, artifact.label_names
('run folder', ['bauhaus', 'kandinsky', 'mondrian', 'op_art', 'suprematism'])
>>> model = open_model(artifact)                # the Keras model
>>> same = open_model("exported/dcgan/1")       # onnxruntime, the same protocol
"""

import dataclasses
import json
import os
import zipfile

from keras_genart.contract import METADATA_FILE
from keras_genart.errors import UserInputError, require_modules

CONFIG_FILE = "config.json"
MODEL_FILE = "model.keras"
CHECKPOINTS = "checkpoints"
CHECKPOINT_STATE = "state.json"

# keras_genart's model classes by the name a `.keras` file gives them, and their
# `model_type`: known before Keras loads (a test holds them to the classes).
KERAS_MODEL_TYPES = {"keras_genart>DCGAN": "dcgan", "keras_genart>WGANGP": "wgan-gp",
                     "keras_genart>VAE": "vae"}

RUN_FOLDER = "run folder"
KERAS_FILE = ".keras file"
EXPORTED_VERSION = "exported version"


@dataclasses.dataclass(frozen=True)
class ModelArtifact:
    """A model on disk, as `find_model` finds it (no backend loaded).

    Attributes:
        path: str. The path as given.
        kind: str. `RUN_FOLDER`, `KERAS_FILE` or `EXPORTED_VERSION`.
        file: str. What loads: a `.keras` file (a run folder's `model.keras`,
            or its last checkpoint while it trains) or the version folder.
        class_names: list of str. A conditional model's classes; None for
            others.
        latent_class_names: list of str. The classes a model codes in its
            latents; None for others.
        model_type: str. `dcgan`, `wgan-gp` or `vae`; None for a Keras
            class other than keras_genart's (the loaded model knows).
    """

    path: str
    kind: str
    file: str
    class_names: list | None = None
    latent_class_names: list | None = None
    model_type: str | None = None

    @property
    def label_names(self):
        """The classes the model can be asked for (None: no classes), as the loaded
        model's `label_names`."""
        return self.class_names or self.latent_class_names

    @property
    def needs_backend(self):
        """Whether opening it loads Keras and its backend (an exported version runs with
        onnxruntime)."""
        return self.kind != EXPORTED_VERSION


def _accepted(exported, run="a run folder"):
    """What a model path may be, in words."""
    if exported:
        return f"{run}, a .keras file or an exported version folder"
    return f"{run} or a .keras file"


def find_model(path, exported=True):
    """What a path holds, found without loading a backend.

    Args:
        path: str. A run folder, a `.keras` file or an exported version folder
            (`metadata.json` + `model.onnx`); a `ModelArtifact` is returned
            as it is.
        exported: bool. Whether an exported version is accepted. Defaults
            to True.

    Returns:
        `ModelArtifact`. Raises `UserInputError`, naming the path and what is
        accepted, for anything else.
    """
    if isinstance(path, ModelArtifact):
        return path
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, METADATA_FILE)):
            return _exported_version(path, exported)
        return _keras_artifact(path, RUN_FOLDER, _run_model_file(path, exported))
    if not os.path.exists(path):
        raise UserInputError(f"'{path}' does not exist; pass {_accepted(exported)}")
    if not path.endswith(".keras"):
        raise UserInputError(f"'{path}' is not {_accepted(exported)}")
    return _keras_artifact(path, KERAS_FILE, path)


def _run_model_file(path, exported):
    """A run folder's `model.keras`, or its last completed checkpoint."""
    final = os.path.join(path, MODEL_FILE)
    if os.path.exists(final):
        return final
    state = os.path.join(path, CHECKPOINTS, CHECKPOINT_STATE)
    if not os.path.exists(state):
        if not os.path.exists(os.path.join(path, CONFIG_FILE)):
            also = f" or an exported version (no {METADATA_FILE})" if exported else ""
            raise UserInputError(
                f"'{path}' is not a run folder (no {CONFIG_FILE}, {MODEL_FILE} or "
                f"{CHECKPOINTS}/){also}; pass "
                f"{_accepted(exported, 'a folder made by `genart train`')}")
        raise UserInputError(f"run folder '{path}' has no {MODEL_FILE} and no checkpoint "
                             "yet; train at least one epoch first")
    try:
        with open(state) as f:
            name = json.load(f)["checkpoint"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserInputError(f"{state} is unreadable ({error}); train again to write "
                             "it") from None
    checkpoint = os.path.join(path, CHECKPOINTS, name)
    if not os.path.exists(checkpoint):
        raise UserInputError(f"{state} names checkpoint {name}, which is missing")
    return checkpoint


def _keras_artifact(path, kind, file):
    """A `.keras` file's artifact, its classes and type read from the archive's
    `config.json`."""
    try:
        with zipfile.ZipFile(file) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise UserInputError(f"cannot load model from '{file}': {error}") from None
    config = config if isinstance(config, dict) else {}
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    return ModelArtifact(path, kind, file, _names(inner.get("class_names")),
                         _names(inner.get("latent_class_names")),
                         KERAS_MODEL_TYPES.get(config.get("registered_name")))


def _names(names):
    return [str(name) for name in names] if isinstance(names, list) and names else None


def _exported_version(path, exported):
    from keras_genart.contract import read_metadata
    from keras_genart.serving.runtime import metadata_classes

    if not exported:
        raise UserInputError(
            f"'{path}' is an exported version ({METADATA_FILE}), not a Keras model; pass "
            "the run folder or the .keras file it was exported from")
    try:
        metadata = read_metadata(path)
    except (OSError, ValueError) as error:
        raise UserInputError(f"{path}: {error}") from None
    if not os.path.exists(os.path.join(path, "model.onnx")):
        raise UserInputError(f"'{path}' has no model.onnx (exported without ONNX); export "
                             "the model again with --formats savedmodel,onnx")
    class_names, latent_class_names, _ = metadata_classes(metadata)
    return ModelArtifact(path, EXPORTED_VERSION, path, class_names, latent_class_names,
                         metadata["model_type"])


def run_folder_of(path):
    """The run folder a model path belongs to: the folder itself, or the folder of a
    `.keras` file (a checkpoint's run folder for one in `checkpoints/`)."""
    run_dir = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    if os.path.basename(run_dir) == CHECKPOINTS:
        run_dir = os.path.dirname(run_dir)
    return run_dir


def training_data_seed(model):
    """The seed the model's training data was drawn with (what `builtin:` data depends on),
    and where it was read.

    A run folder (or a `.keras` file in one, its checkpoints included) records it in
    its `config.json`; an exported version in its `metadata.json` (`training_data`,
    else the settings it trained with).

    Args:
        model: str or `ModelArtifact`. See `find_model`.

    Returns:
        `(seed, where)`: int and a phrase naming the file; `(None, None)` when nothing
        records it (a `.keras` file outside a run folder).
    """
    artifact = find_model(model)
    if artifact.kind == EXPORTED_VERSION:
        from keras_genart.contract import read_metadata

        metadata = read_metadata(artifact.path)
        seed = _recorded_seed(metadata.get("training_data"),
                              lambda: metadata.get("training_config") or {})
        return _seed_from(seed, f"the export's {METADATA_FILE}")
    path = os.path.join(run_folder_of(artifact.path), CONFIG_FILE)
    if not os.path.exists(path):
        return None, None
    try:
        with open(path) as f:
            payload = json.load(f)
        seed = _recorded_seed(payload.get("data_summary"), lambda: _run_settings(payload))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise UserInputError(f"cannot read {path}: {error}") from None
    return _seed_from(seed, f"the run's {CONFIG_FILE}")


def _run_settings(payload):
    from keras_genart.config import read_run_config

    return {"seed": read_run_config(payload).asked.seed}


def _recorded_seed(data_summary, settings):
    """The data summary's seed (what the data was drawn with), else the settings' seed
    (training draws its data with it); `settings` is called only when needed."""
    seed = (data_summary or {}).get("seed")
    return settings().get("seed") if seed is None else seed


def _seed_from(seed, where):
    return (None, None) if seed is None else (int(seed), where)


def open_model(model, exported=True):
    """A model to make pictures with, with the generator protocol of
    `keras_genart.pictures`.

    Args:
        model: str or `ModelArtifact`. A run folder, a `.keras` file or an
            exported version folder (see `find_model`).
        exported: bool. Whether an exported version is accepted. Defaults
            to True.

    Returns:
        The Keras model (run folder, `.keras` file), or a
        `keras_genart.serving.Generator` (exported version: onnxruntime, no
        TensorFlow or Keras).
    """
    artifact = find_model(model, exported)
    if artifact.needs_backend:
        return _load_keras(artifact.file)
    require_modules("an exported version", ["onnxruntime"], "pip install onnxruntime")
    from keras_genart.serving import Generator

    try:
        return Generator(artifact.file)
    except (OSError, ValueError) as error:
        raise UserInputError(f"{artifact.path}: {error}") from None


def load_trained_model(path):
    """Loads a model from a `.keras` file or a run folder.

    A run folder gives its `model.keras`, or, for an unfinished run, its last
    completed checkpoint.
    """
    return _load_keras(find_model(path, exported=False).file)


def _load_keras(file):
    import keras

    from keras_genart.models import register_all

    register_all()
    try:
        return keras.saving.load_model(file)
    except Exception as e:
        raise UserInputError(f"cannot load model from '{file}': {e}") from e


def open_picture_folder(folder, image_size=32):
    """The pictures of a folder made by any tool, as uint8 `(n, s, s, 3)`, and a
    description `{"kind": "folder", "path", "kept"}`.

    Args:
        folder: str. The folder (searched recursively; see `load_image_folder`).
        image_size: int. Side the pictures are resized to. Defaults to 32.
    """
    from keras_genart.data.image_folder import load_image_folder

    images, _, _, summary = load_image_folder(folder, image_size)
    return images, {"kind": "folder", "path": os.path.abspath(folder),
                    "kept": summary.get("kept", len(images))}


def find_generated(model=None, folder=None):
    """What pictures to judge come from, checked without a backend: the model's
    `ModelArtifact` (see `find_model`), or None for a folder of pictures; a
    `UserInputError` unless exactly one of the two is given."""
    if (model is None) == (folder is None):
        raise UserInputError("evaluate one thing: a model (run folder, .keras file or exported "
                             "version) or --generated FOLDER")
    return None if model is None else find_model(model)


def generated_pictures(model=None, folder=None, n=5000, seed=0, image_size=None,
                       batch_size=256):
    """Generated pictures as uint8 `(n, s, s, 3)`, and a description for the report.

    A model's pictures are those of `keras_genart.pictures.sample(model, n,
    seed)`, made `batch_size` at a time and each batch made uint8 at once: `n`
    pictures as float32, or one onnxruntime run of them all, would take many
    times their uint8 memory.

    Args:
        model: str or `ModelArtifact`. A run folder, a `.keras` file or an
            exported version folder (`metadata.json` + `model.onnx`, run with
            onnxruntime: no TensorFlow needed).
        folder: str. A folder of pictures made by any tool (instead of `model`).
        n: int. Pictures to generate from a model. Defaults to 5000.
        seed: int. Seed of the latents. Defaults to 0.
        image_size: int. Side the folder's pictures are resized to. Defaults
            to 32.
        batch_size: int. Most pictures a model makes at once. Defaults to 256.
    """
    artifact = find_generated(model, folder)
    if artifact is None:
        images, described = open_picture_folder(folder, image_size or 32)
        if len(images) < 2:
            raise UserInputError(f"'{folder}' has {len(images)} usable pictures; evaluation "
                                 "needs at least 2")
        return images, described
    generator = open_model(artifact)
    images = _sample_uint8(generator, n, seed, batch_size)
    return images, {"kind": "keras" if artifact.needs_backend else "exported",
                    "path": os.path.abspath(artifact.path),
                    "model_type": generator.model_type, "seed": seed}


def _sample_uint8(generator, n, seed, batch_size):
    """`imaging.to_uint8(pictures.sample(generator, n, seed))`, `batch_size` latents at a
    time into one uint8 array (a conditional model's classes in turn run on across
    batches, as in one call)."""
    import numpy as np

    from keras_genart import imaging
    from keras_genart.latents import class_labels, sample_truncated_latents

    if n < 1:
        raise UserInputError(f"n is {n}; generate at least 1 picture")
    z = sample_truncated_latents(n, generator.latent_dim, seed, None)
    labels = class_labels(n, generator.num_classes) if generator.num_classes else None
    images = None
    for start in range(0, n, batch_size):
        batch = imaging.to_uint8(generator.generate_from_latents(
            z[start:start + batch_size],
            labels=None if labels is None else labels[start:start + batch_size]))
        if images is None:
            images = np.empty((n, *batch.shape[1:]), np.uint8)
        images[start:start + len(batch)] = batch
    return images
