"""`export_model`: a trained model -> a TF Serving version folder with ONNX beside it."""

import json
import os
import time

import numpy as np

from keras_genart._version import __version__
from keras_genart.config import training_config
from keras_genart.errors import ExportError, UserInputError, require_modules, require_tensorflow
from keras_genart.contract import METADATA_FILE, NAME_PATTERN, artifact_hashes
from keras_genart.export.version_folders import reserve_version
from keras_genart.imaging import atomic_write_bytes
from keras_genart.latents import (ARC_MARGIN, LATENT_CLASS_RECIPE, LATENT_RECIPE,
                                  TRUNCATION_RECIPE, VARIATION_RECIPE, sample_latents)

FORMATS = ("savedmodel", "onnx")
# A VAE's encoder beside model.onnx: vary and reconstruct without TensorFlow.
ENCODER_ONNX = "encoder.onnx"
PARITY_TOLERANCE = 1e-4
# PNGs hold 8-bit pixels: the render signature is checked to one level.
RENDER_TOLERANCE = 1 / 255


def parity_limit(check):
    """The largest difference from Keras allowed for a parity check's name."""
    return RENDER_TOLERANCE if check.endswith(":render") else PARITY_TOLERANCE


def _check_name(name):
    if not NAME_PATTERN.match(name or "") or name in (".", ".."):
        raise UserInputError(
            f"model name {name!r} is not allowed; use letters, digits, '_', '-' and '.', "
            "starting with a letter or digit (at most 64 characters)")
    return name


def _run_info(source):
    """The run folder's config.json, when the model came from one."""
    from keras_genart.artifacts import CONFIG_FILE, run_folder_of

    if source is None:
        return {}
    path = os.path.join(run_folder_of(source), CONFIG_FILE)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def _check_export_backend():
    """Export traces the generator with TensorFlow: TF installed, Keras on its backend."""
    require_tensorflow("SavedModel and ONNX export")
    import keras

    if keras.backend.backend() != "tensorflow":
        raise UserInputError(
            "export traces the generator with TensorFlow, but Keras runs on "
            f"{keras.backend.backend()!r}; .keras files load on any backend, so export "
            "with KERAS_BACKEND=tensorflow (for example `KERAS_BACKEND=tensorflow genart "
            "export RUN --out DIR`)")


def export_model(model, out_dir, name=None, version=None, formats=FORMATS, opset=17,
                 force=False, log=print, parity_samples=8):
    """Exports a model's generator as SavedModel and ONNX, checked for parity.

    The version number is reserved first (so that concurrent exports into
    one folder take different numbers), the version is written into a hidden
    folder and renamed into `out_dir/NAME/VERSION` only after the parity check
    passed, so a server watching `out_dir` never sees a half-written version
    (`keras_genart.export.version_folders`).

    Args:
        model: a keras_genart model, or the path of a run folder or `.keras` file.
        out_dir: str. The model base folder (TF Serving's `--model_base_path`
            is `out_dir/NAME`).
        name: str. Model name. Defaults to the model type (`dcgan`, ...).
        version: int. Defaults to one more than the highest present (or the
            next one that no running export holds).
        formats: list of `"savedmodel"`, `"onnx"`. Defaults to both.
        opset: int. ONNX opset. Defaults to 17.
        force: bool. Replace an existing version. Defaults to False.
        log: callable. Defaults to `print`.
        parity_samples: int. Latents in the parity check. Defaults to 8.

    Returns:
        dict: the metadata written, with `path` added.
    """
    from keras_genart.artifacts import load_trained_model

    _check_export_backend()
    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UserInputError(
            f"unknown export format {', '.join(unknown) or '(none)'}; choose from "
            f"{', '.join(FORMATS)}")
    source = None
    if isinstance(model, (str, os.PathLike)):
        source = os.fspath(model)
        model = load_trained_model(source)
    if "onnx" in formats:  # before any folder is made
        require_modules("ONNX export", ["onnx", "tf2onnx", "onnxruntime"],
                        "pip install keras_genart")
    name = _check_name(name or model.model_type)  # the CLI's spelling: dcgan, wgan-gp, vae
    model_dir = os.path.join(out_dir, name)
    version = None if version is None else int(version)
    if version is not None and version < 1:
        raise UserInputError(f"version must be a positive integer, got {version}")
    made = [d for d in (model_dir, out_dir) if not os.path.isdir(d)]
    reservation = None
    try:
        # Held from here to the end: a concurrent export takes another number.
        reservation = reserve_version(model_dir, version, force)
        version, tmp_dir = reservation.version, reservation.work_dir
        # Latents as sampled, and two of three times the usual norm (truncation
        # and interpolation reach such latents; saturating layers hide there).
        z = np.concatenate([sample_latents(parity_samples, model.latent_dim, seed=0),
                            3.0 * sample_latents(2, model.latent_dim, seed=1)])
        # A conditional model: every class, in turn.
        labels = model.resolve_labels(None, len(z))
        reference = model.generate_from_latents(z, labels=labels)
        parity = {}
        signatures = []
        if "savedmodel" in formats:
            from keras_genart.export.savedmodel import check_savedmodel, export_savedmodel

            signatures = export_savedmodel(model, tmp_dir)
            parity.update(check_savedmodel(tmp_dir, model, z, reference, labels))
            log(f"SavedModel: signatures {', '.join(signatures)}")
        if "onnx" in formats:
            from keras_genart.export import onnx

            onnx_path = os.path.join(tmp_dir, "model.onnx")
            onnx.export_onnx(model, onnx_path, opset=opset)
            parity["onnx"] = float(np.max(np.abs(onnx.run_onnx(onnx_path, z, labels)
                                                 - reference)))
            if model.model_type == "vae":
                # The generated pictures, encoded as the classes they were made with.
                encoder_path = os.path.join(tmp_dir, ENCODER_ONNX)
                onnx.export_encoder_onnx(model, encoder_path, opset=opset)
                parity["onnx:encoder"] = max(
                    float(np.max(np.abs(a - b))) for a, b in zip(
                        onnx.run_encoder_onnx(encoder_path, reference, labels),
                        model.encode_pictures(reference, labels)))
            log(f"ONNX: opset {opset}")
        for runtime, difference in parity.items():
            limit = parity_limit(runtime)
            if not difference <= limit:
                raise ExportError(
                    f"{runtime} output differs from Keras by {difference:.3g} (largest absolute "
                    f"difference over {len(z)} latents; the limit is {limit:.3g}); nothing "
                    "was exported")
        log("parity: " + ", ".join(f"{k} max |diff| {v:.2e}" for k, v in parity.items()))
        metadata = _metadata(model, name, version, formats, signatures, opset, parity,
                             _run_info(source), source, tmp_dir)
        atomic_write_bytes(os.path.join(tmp_dir, METADATA_FILE),
                           (json.dumps(metadata, indent=2) + "\n").encode())
        reservation.publish()  # --force: a server never sees the version missing
    finally:
        if reservation is not None:
            reservation.release()
        for folder in made:  # a failed first export leaves no empty folders
            try:
                os.rmdir(folder)
            except OSError:  # not empty: another export's, or this one's result
                pass
    log(f"exported {name} version {version} to {reservation.final_dir}")
    return {**metadata, "path": reservation.final_dir}


def _metadata(model, name, version, formats, signatures, opset, parity, run, source,
              version_dir):
    import keras
    import tensorflow as tf

    versions = {"keras_genart": __version__, "keras": keras.__version__,
                "tensorflow": tf.__version__}
    if "onnx" in formats:
        import onnx
        import tf2onnx

        versions.update(tf2onnx=tf2onnx.__version__, onnx=onnx.__version__)
    return {
        "name": name,
        "version": version,
        "model_type": model.model_type,
        "latent_dim": model.latent_dim,
        "image_size": model.image_size,
        "channels": model.channels,
        "gray": model.gray,
        "value_range": [0.0, 1.0],
        "latent_recipe": LATENT_RECIPE,
        "truncation_recipe": TRUNCATION_RECIPE,
        # A conditional model's classes are its labels; others keep the data's, if any.
        "conditional": bool(model.num_classes),
        "class_names": model.class_names or run.get("class_names", []),
        # Latent-coded classes: the generator takes z only and reads the class from it.
        **({"latent_classes": {"class_names": model.latent_class_names,
                               "shares": model.latent_class_shares,
                               "recipe": LATENT_CLASS_RECIPE,
                               "arc_margin": ARC_MARGIN}}
           if getattr(model, "latent_class_names", None) else {}),
        "training_data": run.get("data_summary", {}),
        "training_config": training_config(run),
        "source": os.path.abspath(source) if source else None,
        "formats": formats,
        "signatures": signatures,
        "onnx": {"file": "model.onnx", "input": "z",
                 "inputs": ["z", "label"] if model.num_classes else ["z"],
                 "output": "images", "opset": opset,
                 **({"encoder": {"file": ENCODER_ONNX,
                                 "inputs": ["images", "label"] if model.num_classes
                                 else ["images"],
                                 "outputs": ["mean", "log_var"]}}
                    if model.model_type == "vae" else {})}
        if "onnx" in formats else None,
        **({"variation_recipe": VARIATION_RECIPE} if model.model_type == "vae" else {}),
        "parity_max_abs_diff": parity,
        "exported": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions,
        "sha256": artifact_hashes(version_dir),
    }
