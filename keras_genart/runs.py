"""Run folders: a training run that describes itself and resumes after a crash.

A run folder holds `config.json` (everything needed to reproduce the run),
`checkpoints/` (the last completed epoch, for resuming), `model.keras` (when
training finished), `logs/` (TensorBoard) and `samples/` (a grid per epoch).
"""

import json
import os
import platform
import shutil
import tempfile
import time

from keras_genart import config as settings
from keras_genart._version import __version__
from keras_genart.artifacts import CONFIG_FILE, MODEL_FILE
from keras_genart.artifacts import load_trained_model  # noqa: F401  (moved; old imports work)
from keras_genart.config import TrainConfig  # noqa: F401  (its home before config.py)
from keras_genart.errors import UserInputError
from keras_genart.imaging import atomic_write_bytes
from keras_genart.options import SCORES


def build_compiled_model(config, class_names=None, class_shares=None, grayscale=False):
    """The untrained, compiled model that a config describes.

    Args:
        config: `TrainConfig`, as asked or resolved.
        class_names: list of str. The data's classes, which a conditional
            model and latent-coded classes learn.
        class_shares: list of float. The classes' shares of the data (latent-coded
            classes' shares of the latents); equal shares when None.
        grayscale: bool. Whether the data's pictures are all gray
            (`ImageData.grayscale`), which `colors="auto"` follows.
    """
    import keras

    from keras_genart.models.registry import build_model

    resolved = settings.resolve(config, class_names, grayscale)
    model = build_model(resolved.model, seed=config.seed, classes=class_names,
                        class_shares=class_shares if resolved.model.latent_classes else None)
    optimizers = {name: keras.optimizers.Adam(name=name,
                                              **settings.optimizer_settings(resolved.fit))
                  for name in model.optimizer_names}
    model.compile(jit_compile=settings.compile_jit(resolved.fit),
                  steps_per_execution=resolved.fit.steps_per_execution, **optimizers)
    return model


def class_shares(data):
    """Each class's share of the pictures of `ImageData` (None without classes)."""
    import numpy as np

    if not data.class_names or data.labels is None:
        return None
    counts = np.bincount(np.asarray(data.labels, np.int64).ravel(),
                         minlength=len(data.class_names))[:len(data.class_names)]
    # A class without pictures keeps a sliver of the latents (shares must be positive).
    counts = np.maximum(counts, 1e-3 * max(1, counts.sum()) / len(counts))
    return (counts / counts.sum()).tolist()


def read_saved_run(run_dir):
    """The `config.SavedRun` of a run folder's config.json, or None when it has none."""
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return settings.read_run_config(json.load(f))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserInputError(f"cannot read {path}: {error}") from None


def _write_json(path, payload):
    atomic_write_bytes(path, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode())


def train(config, log=print, extra_callbacks=()):
    """Trains (or resumes) the run that `config` describes.

    If `config.run_dir` holds an unfinished run with the same settings, it
    resumes from the last completed epoch; `epochs` may be raised to train a
    finished run further.

    Args:
        config: `TrainConfig`.
        log: callable. Where progress lines go. Defaults to `print`.
        extra_callbacks: list of `keras.callbacks.Callback`. Defaults to ().

    Returns:
        The trained model.
    """
    from keras_genart import backend
    from keras_genart.callbacks import (
        EpochSummaries,
        ImageGridCallback,
        NonFiniteLossGuard,
        ResumableCheckpoint,
        read_checkpoint_state,
        save_model_atomically,
    )
    from keras_genart.data import load_images, make_dataset
    from keras_genart.models import register_all

    register_all()
    settings.check_data_exists(config)
    _check_cluster(config, backend.process_count(), log)
    run_dir = config.run_dir
    config_path = os.path.join(run_dir, CONFIG_FILE)
    checkpoint_dir = os.path.join(run_dir, "checkpoints")
    saved = read_saved_run(run_dir)
    state = read_checkpoint_state(checkpoint_dir)
    initial_epoch = state["epoch"] if state else 0
    # What "auto" means depends on the data (its classes, gray or not): read it first,
    # so that a run is never resumed, or called finished, with other settings.
    data = load_images(config.data.source, image_size=config.model.image_size,
                       seed=config.seed, tfds_data_dir=config.data.tfds_data_dir)
    if saved:
        resolved = settings.resume_settings(saved, config, data.class_names, data.grayscale)
    else:
        resolved = settings.resolve(config, data.class_names, data.grayscale)
    if initial_epoch >= config.fit.epochs:
        log(f"{run_dir}: already trained {initial_epoch} epochs (--epochs "
            f"{config.fit.epochs}); nothing to do. Raise --epochs to train further.")
        model = _load_checkpoint(state["path"])
        final = os.path.join(run_dir, MODEL_FILE)
        if not os.path.exists(final):  # stopped between the last checkpoint and model.keras
            save_model_atomically(model, final)
        return model

    log(f"data: {data.describe()}")
    _check_data_fits(config, resolved, data, log, resuming=saved is not None)
    steps = config.fit.steps_per_epoch or max(1, data.num_images // config.fit.batch_size)
    if saved and saved.extras.get("steps_per_epoch", steps) != steps:
        raise UserInputError(
            f"run folder '{run_dir}' was trained with {saved.extras['steps_per_epoch']} steps "
            f"per epoch and the data now gives {steps}; pass the same data and "
            "--steps-per-epoch")
    # The data continue where the run stopped: the same batches as an
    # uninterrupted run.
    dataset = make_dataset(data, config.fit.batch_size, seed=config.seed,
                           start_step=initial_epoch * steps, shard=backend.process_shard(),
                           balanced=config.data.balance_classes)

    # In a cluster every process runs this and every one saves (saving can
    # take part in collectives), but only the chief writes into the run folder;
    # the others write into a scratch folder that is removed at the end.
    chief = backend.is_chief()
    out_dir = run_dir if chief else tempfile.mkdtemp(prefix="genart-worker-")
    with backend.data_parallel(config.fit.devices):
        if state:
            log(f"resuming {run_dir} from epoch {initial_epoch} ({state['path']})")
            model = _load_checkpoint(state["path"])
            trained = model.label_names
            if trained is not None and trained != list(data.class_names):
                raise UserInputError(
                    f"run folder '{run_dir}' was trained on the classes "
                    f"{', '.join(trained)} and the data now has "
                    f"{', '.join(data.class_names)}; pass the same data to resume it")
        else:
            # Balanced batches draw every class equally often: so do the latents then.
            model = build_compiled_model(
                resolved, data.class_names,
                None if config.data.balance_classes else class_shares(data))
        if chief:
            os.makedirs(run_dir, exist_ok=True)
            created = saved.extras.get("created") if saved else None
            _write_json(config_path, settings.run_record(
                config, resolved, model_type=config.model.type, class_names=data.class_names,
                data_summary=data.summary, steps_per_epoch=steps,
                created=created or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                versions=_versions()))
        callbacks = [
            NonFiniteLossGuard(checkpoint_dir),
            # About ten points of every loss per epoch (batch_*), and the epoch's (epoch_*).
            EpochSummaries(os.path.join(out_dir, "logs"), update_freq=max(1, steps // 10)),
            ImageGridCallback(os.path.join(out_dir, "samples"), os.path.join(out_dir, "logs"),
                              n=config.fit.num_samples, seed=config.seed,
                              metadata={"keras_genart.run": os.path.abspath(run_dir)}),
            *_evaluation_callbacks(config, data, out_dir),
            ResumableCheckpoint(os.path.join(out_dir, "checkpoints")),
            *extra_callbacks,
        ]
        try:
            model.fit(dataset, epochs=config.fit.epochs, initial_epoch=initial_epoch,
                      steps_per_epoch=steps, callbacks=callbacks, verbose=config.fit.verbose,
                      shuffle=False)  # make_dataset shuffles
            save_model_atomically(model, os.path.join(out_dir, MODEL_FILE))
        finally:
            if not chief:
                shutil.rmtree(out_dir, ignore_errors=True)
    if chief:
        log(f"saved {os.path.join(run_dir, MODEL_FILE)}")
    return model


def _check_cluster(config, processes, log):
    """In a cluster, checks the batch against every process's replicas and says how
    it is split (before any process joins the others)."""
    if processes == 1:
        return
    settings.check_train(config, processes)
    replicas = processes * config.fit.devices
    log(f"training on {processes} processes x {config.fit.devices} device(s) each: "
        f"{replicas} replicas of {config.fit.batch_size // replicas} pictures per step")


def _check_data_fits(config, resolved, data, log, resuming):
    """Refuses settings that the data cannot serve; says what "auto" did with its classes."""
    if config.data.balance_classes and not data.class_names:
        raise UserInputError(f"--balance-classes needs labelled data (class sub-folders, a "
                             f"TFDS label, builtin: styles); {config.data.source} has no "
                             "classes")
    model = config.model
    if (data.class_names and not resuming and not model.conditional
            and model.latent_classes == settings.AUTO):
        log(f"note: the data has {len(data.class_names)} classes; " + (
            "the generator learns them through its latents, so that every class is drawn "
            "and can be asked for by name (--latent-classes false for none)"
            if resolved.model.latent_classes else
            "--conditional trains on them, so that every class is drawn and can be asked "
            "for by name"))
    for flag, wanted in (("--conditional", model.conditional),
                         ("--latent-classes", model.latent_classes is True)):
        if wanted and len(data.class_names) < 1 + (flag == "--latent-classes"):
            raise UserInputError(
                f"{flag} needs labelled data: class sub-folders, a TFDS set with a label "
                f"feature, or builtin: styles; {config.data.source} has "
                f"{len(data.class_names) or 'no'} classes")


def _evaluation_callbacks(config, data, out_dir):
    """`EvaluationCallback` and the best-model checkpoint, when `eval_every` asks for them."""
    fit = config.fit
    if not fit.eval_every:
        return []
    from keras_genart.callbacks import BestModelCheckpoint, EvaluationCallback

    if fit.eval_n > data.num_images:
        raise UserInputError(
            f"--eval-n {fit.eval_n} is more than the {data.num_images} training pictures; "
            "lower it")
    group, lower_is_better = SCORES[fit.eval_metric]
    return [
        EvaluationCallback(data.images, fit.eval_every,
                           metrics=sorted({"fid", "kid", group}), n=fit.eval_n,
                           seed=config.seed, log_dir=os.path.join(out_dir, "logs")),
        BestModelCheckpoint(os.path.join(out_dir, "best.keras"), f"val_{fit.eval_metric}",
                            "min" if lower_is_better else "max"),
    ]


def _load_checkpoint(path):
    import keras

    return keras.saving.load_model(path)


def _versions():
    import importlib.metadata

    import keras

    versions = {"keras_genart": __version__, "keras": keras.__version__,
                "backend": keras.backend.backend(), "python": platform.python_version()}
    for package in ("tensorflow", "jax"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions
