"""Run folders: a training run that describes itself and resumes after a crash.

A run folder holds `config.json` (everything needed to reproduce the run),
`checkpoints/` (the last completed epoch, for resuming), `model.keras` (when
training finished), `logs/` (TensorBoard) and `samples/` (a grid per epoch).
"""

import dataclasses
import json
import os
import platform
import shutil
import tempfile
import time

from keras_genart._version import __version__
from keras_genart.artifacts import load_trained_model  # noqa: F401  (moved; old imports work)
from keras_genart.errors import UserInputError
from keras_genart.imaging import atomic_write_bytes
from keras_genart.metrics.names import SCORES

CONFIG_FILE = "config.json"
MODEL_FILE = "model.keras"

# Settings added after runs were made, with the value that such runs had.
_ADDED_SETTINGS = {"ema": None, "r1": 0.0, "r1_interval": 16, "upsampling": "transpose",
                   "shared_fakes": False, "d_final_size": 4, "conditional": False,
                   "balance_classes": False, "latent_classes": False, "colors": "rgb"}
# Settings that may change when a run is resumed: they don't change the model.
# The device count is among them: the data order and the latents of a step do
# not depend on it (every replica draws its slice of the global batch).
_RESUMABLE = ("epochs", "run_dir", "verbose", "tfds_data_dir", "num_samples", "devices",
              "eval_every", "eval_metric", "eval_n")


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run depends on; saved as the run's config.json.

    Defaults are those of `genart train`. `devices` > 1 trains data-parallel
    (see `keras_genart.backend.data_parallel`); `mixed_precision` is `"off"`,
    `"bfloat16"` or `"float16"`. `eval_every` N scores `eval_n` pictures every
    N epochs (`EvaluationCallback`: `val_fid`, `val_kid`, ... in the logs) and
    keeps `best.keras`, the best model by `eval_metric`. `steps_per_epoch=None` means one
    pass over the data per epoch. `lr`, `beta1` and `beta2` of None take the
    model's defaults (DCGAN: 2e-4, 0.5, 0.999; WGAN-GP: 1e-4, 0.0, 0.9;
    VAE: 1e-3, 0.9, 0.999). `ema="auto"` is 0.999 for GANs and none for the
    VAE; `shared_fakes="auto"` is on for DCGAN only (`resolved_ema`,
    `resolved_shared_fakes`); `d_final_size="auto"` is 8 for DCGAN and 4 for
    WGAN-GP (`resolved_d_final_size`); `upsampling="auto"` is resize for the
    conditional DCGAN (and the one with latent-coded classes) and transpose
    otherwise (`resolved_upsampling`). `colors="auto"` makes gray pictures
    (one channel copied into red, green and blue) when every training
    picture is gray and colour ones otherwise (`resolved_colors`); `"gray"`
    and `"rgb"` ask for one.
    `augment` is empty by default: `flip` suits only subjects that may face
    either way. `conditional=True` trains a conditional model (GAN or VAE) on
    the data's classes; `latent_classes=True` trains a GAN on them whose
    generator takes `z` only and reads the class from it (latent-coded
    classes, `AdversarialModel`: the export stays unconditional), and
    `"auto"` does so for a DCGAN on labelled data (`resolved_latent_classes`);
    `balance_classes=True` draws every class equally often
    (`ImageBatches(balanced=True)`).
    """

    model: str = "dcgan"
    data: str = "builtin:abstract"
    image_size: int = 32
    batch_size: int = 64
    epochs: int = 10
    steps_per_epoch: int | None = None
    latent_dim: int = 128
    base_width: int = 64
    max_width: int = 512
    blocks_per_stage: int = 0
    d_normalization: str | None = None
    minibatch_std: bool | None = None
    loss: str = "non_saturating"
    n_critic: int = 5
    gp_weight: float = 10.0
    beta: float = 1.0
    lr: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    augment: list = dataclasses.field(default_factory=list)
    seed: int = 0
    jit_compile: bool | str = "auto"
    steps_per_execution: int = 1
    mixed_precision: str = "off"
    packing: int = 1
    ema: float | str | None = "auto"
    r1: float = 0.0
    r1_interval: int = 16
    upsampling: str = "auto"
    colors: str = "auto"
    shared_fakes: bool | str = "auto"
    d_final_size: int | str = "auto"
    conditional: bool = False
    latent_classes: bool | str = "auto"
    balance_classes: bool = False
    devices: int = 1
    eval_every: int | None = None
    eval_metric: str = "kid"
    eval_n: int = 1000
    num_samples: int = 64
    tfds_data_dir: str | None = None
    run_dir: str | None = None
    verbose: int = 1

    def __post_init__(self):
        from keras_genart.data.augment_names import check_augmentations
        from keras_genart.data.sources import check_image_size, parse_source
        from keras_genart.models import MIXED_PRECISION, MODEL_TYPES

        if self.model not in MODEL_TYPES:
            raise UserInputError(
                f"unknown model {self.model!r}; choose from {', '.join(MODEL_TYPES)}")
        check_image_size(self.image_size)
        parse_source(self.data)
        for name in ("batch_size", "epochs", "latent_dim", "base_width", "max_width",
                     "n_critic", "steps_per_execution", "num_samples", "devices",
                     "r1_interval"):
            if int(getattr(self, name)) < 1:
                raise UserInputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise UserInputError(f"steps_per_epoch must be at least 1, got {self.steps_per_epoch}")
        if self.lr is not None and not self.lr > 0:
            raise UserInputError(f"learning rate must be positive, got {self.lr}")
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 1:
                raise UserInputError(f"{name} must be in [0, 1), got {value}")
        check_augmentations(self.augment)
        if self.ema not in (None, "auto") and not (
                isinstance(self.ema, (int, float)) and 0 < self.ema < 1):
            raise UserInputError(f"ema must be auto, none or a decay in (0, 1) such as 0.999, "
                                 f"got {self.ema!r}")
        from keras_genart.options import COLORS, UPSAMPLINGS

        if self.upsampling not in (*UPSAMPLINGS, "auto"):
            raise UserInputError(f"upsampling must be auto, {', '.join(UPSAMPLINGS)}; got "
                                 f"{self.upsampling!r}")
        if self.colors not in (*COLORS, "auto"):
            raise UserInputError(f"colors must be auto, {', '.join(COLORS)}; got "
                                 f"{self.colors!r}")
        if self.shared_fakes not in (True, False, "auto"):
            raise UserInputError(f"shared_fakes must be auto, true or false, got "
                                 f"{self.shared_fakes!r}")
        if not self.r1 >= 0:
            raise UserInputError(f"r1 must be 0 (off) or more, got {self.r1}")
        if self.conditional not in (True, False):
            raise UserInputError(f"conditional must be true or false, got {self.conditional!r}")
        if self.conditional and int(self.packing) != 1:
            raise UserInputError("a conditional GAN does not pack (--packing 1): the pictures "
                                 "judged together would have different labels")
        if self.latent_classes not in (True, False, "auto"):
            raise UserInputError(f"latent_classes must be auto, true or false, got "
                                 f"{self.latent_classes!r}")
        if self.latent_classes is True and (self.conditional or self.model == "vae"
                                    or int(self.packing) != 1):
            raise UserInputError("--latent-classes is for GANs (dcgan, wgan-gp) without "
                                 "--conditional (the other way to learn the classes) and "
                                 "without --packing")
        if self.model == "vae" and (self.ema not in (None, "auto") or self.r1
                                    or self.shared_fakes is True
                                    or self.d_final_size != "auto"):
            raise UserInputError("--ema, --r1, --shared-fakes and --d-final-size are for GANs "
                                 "(dcgan, wgan-gp), not the vae")
        if self.d_final_size != "auto":
            from keras_genart.networks import check_final_size

            try:
                check_final_size(self.image_size, self.d_final_size)
            except (TypeError, ValueError) as error:
                raise UserInputError(f"d_final_size: {error}") from None
        if self.mixed_precision not in MIXED_PRECISION:
            raise UserInputError(
                f"mixed precision {self.mixed_precision!r} is unknown; choose "
                f"{', '.join(MIXED_PRECISION)}")
        if self.eval_every is not None and int(self.eval_every) < 1:
            raise UserInputError(f"eval_every must be at least 1, got {self.eval_every}")
        if self.eval_metric not in SCORES:
            raise UserInputError(
                f"eval metric {self.eval_metric!r} is unknown; choose from "
                f"{', '.join(SCORES)}")
        if SCORES[self.eval_metric][0] == "classes" and not str(self.data).startswith("builtin:"):
            raise UserInputError(
                f"eval metric {self.eval_metric} uses the built-in style classifier, which "
                "knows only builtin: data; choose another")
        if int(self.eval_n) < 2:
            raise UserInputError(f"eval_n must be at least 2, got {self.eval_n}")
        if self.batch_size % self.devices:
            raise UserInputError(
                f"batch size {self.batch_size} does not split evenly over {self.devices} "
                "devices; choose a multiple of --devices")
        if int(self.packing) < 1 or (self.batch_size // self.devices) % int(self.packing):
            raise UserInputError(
                f"packing {self.packing} must be at least 1 and divide the batch of each "
                f"device ({self.batch_size // self.devices})")
        if self.run_dir is None:
            self.run_dir = os.path.join("runs", self.model)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


# What "auto" means, measured with benchmarks/quality.py (README, "Better pictures"):
# GANs make their pictures with a moving average of the generator; DCGAN's generator
# steps from the discriminator's forward pass (WGAN-GP's five critic steps keep theirs).
AUTO_EMA = 0.999


def resolved_ema(config):
    """The EMA decay a config means (`"auto"`: 0.999 for GANs, none for the VAE)."""
    if config.ema == "auto":
        return AUTO_EMA if config.model != "vae" else None
    return config.ema


def resolved_shared_fakes(config):
    """Whether a config's GAN shares fakes (`"auto"`: DCGAN yes, others no)."""
    if config.shared_fakes == "auto":
        return config.model == "dcgan"
    return bool(config.shared_fakes)


def resolved_d_final_size(config):
    """The side of the discriminator's last feature map (`"auto"`: DCGAN 8, WGAN-GP 4)."""
    from keras_genart.models.registry import DEFAULT_D_FINAL_SIZE

    if config.d_final_size == "auto":
        return DEFAULT_D_FINAL_SIZE.get(config.model, 4)
    return int(config.d_final_size)


def resolved_latent_classes(config, class_names, latent_classes=None):
    """Whether a config's GAN learns the classes `class_names` of its data through
    its latents (`"auto"`: a DCGAN that is neither conditional nor packed, on data
    of two or more classes; `AdversarialModel(latent_class_names=...)`).
    `latent_classes` resolves another value against the same config."""
    latent_classes = config.latent_classes if latent_classes is None else latent_classes
    if latent_classes == "auto":
        return (config.model == "dcgan" and not config.conditional
                and int(config.packing) == 1 and int(config.latent_dim) >= 2
                and len(class_names or []) >= 2)
    return bool(latent_classes)


def resolved_upsampling(config, upsampling=None, class_names=None):
    """The generator's upsampling a config means on data of the classes
    `class_names` (`"auto"`: `registry.default_upsampling` of the model, its
    conditioning and its latent-coded classes). `upsampling` resolves another
    value against the same model."""
    from keras_genart.models.registry import default_upsampling

    upsampling = config.upsampling if upsampling is None else upsampling
    if upsampling == "auto":
        latent = resolved_latent_classes(config, class_names)
        return default_upsampling(config.model, 1 if config.conditional or latent else 0)
    return upsampling


def resolved_colors(config, grayscale):
    """`"gray"` or `"rgb"`: the pictures a config's generator makes (`"auto"`:
    gray when the data's pictures are all gray, `grayscale`:
    `ImageData.grayscale`)."""
    if config.colors == "auto":
        return "gray" if grayscale else "rgb"
    return config.colors


def build_compiled_model(config, class_names=None, class_shares=None, grayscale=False):
    """The untrained, compiled model that a config describes.

    A conditional config (`conditional=True`) needs the data's `class_names`,
    one with latent-coded classes (`latent_classes=True`) those and the
    classes' shares of the data (`class_shares`; equal shares when None).
    `grayscale` says whether the data's pictures are all gray
    (`ImageData.grayscale`), which `colors="auto"` follows.
    """
    import keras

    from keras_genart.models.registry import build_model

    latent = resolved_latent_classes(config, class_names)
    model = build_model(
        config.model, image_size=config.image_size, latent_dim=config.latent_dim,
        base_width=config.base_width, max_width=config.max_width,
        blocks_per_stage=config.blocks_per_stage, loss=config.loss,
        n_critic=config.n_critic, gp_weight=config.gp_weight, beta=config.beta,
        augmentation=config.augment, seed=config.seed,
        d_normalization=config.d_normalization, minibatch_std=config.minibatch_std,
        mixed_precision=config.mixed_precision, packing=config.packing,
        ema=resolved_ema(config), r1_weight=config.r1, r1_interval=config.r1_interval,
        upsampling=resolved_upsampling(config, class_names=class_names),
        shared_fakes=resolved_shared_fakes(config),
        d_final_size=resolved_d_final_size(config),
        # A conditional config without classes meets build_model's "needs labelled data".
        class_names=list(class_names or []) if config.conditional else None,
        latent_class_names=list(class_names or []) if latent else None,
        latent_class_shares=class_shares if latent else None,
        gray=resolved_colors(config, grayscale) == "gray",
    )
    optimizers = {}
    for name, default in model.default_optimizer_settings().items():
        optimizers[name] = keras.optimizers.Adam(
            learning_rate=config.lr if config.lr is not None else default["learning_rate"],
            beta_1=config.beta1 if config.beta1 is not None else default["beta_1"],
            beta_2=config.beta2 if config.beta2 is not None else default["beta_2"],
            name=name,
        )
    model.compile(jit_compile=config.jit_compile,
                  steps_per_execution=config.steps_per_execution, **optimizers)
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


def _check_same_run(saved, config, class_names=None):
    """Raises unless the settings `saved` with a run (on data of the classes
    `class_names`) make the model that `config` would make."""
    defaults = {f.name: f.default for f in dataclasses.fields(config)}

    def then(key, value):
        # A setting added after the run was made: the run had the value of that time,
        # and the same command (today's default) resumes it.
        if key in saved:
            return saved[key]
        return value if value == defaults.get(key) else _ADDED_SETTINGS.get(key)

    def same(key, was, value):
        # "auto" and what it means are the same network
        if key == "upsampling":
            return (resolved_upsampling(config, was, class_names)
                    == resolved_upsampling(config, value, class_names))
        if key == "latent_classes":
            return (resolved_latent_classes(config, class_names, was)
                    == resolved_latent_classes(config, class_names, value))
        return was == value

    compared = ((key, then(key, value), value) for key, value in config.to_dict().items()
                if key not in _RESUMABLE)
    differences = [f"{key}: {was!r} in the run, {value!r} now"
                   for key, was, value in compared if not same(key, was, value)]
    if differences:
        raise UserInputError(
            f"run folder '{config.run_dir}' holds a run with other settings ("
            + "; ".join(differences)
            + "); pass a new --run-dir, or the same settings to resume it"
        )


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
    run_dir = config.run_dir
    config_path = os.path.join(run_dir, CONFIG_FILE)
    checkpoint_dir = os.path.join(run_dir, "checkpoints")
    saved = None
    if os.path.exists(config_path):
        with open(config_path) as f:
            saved = json.load(f)
        _check_same_run(saved.get("config", {}), config, saved.get("class_names"))
    state = read_checkpoint_state(checkpoint_dir)
    initial_epoch = state["epoch"] if state else 0
    if initial_epoch >= config.epochs:
        log(f"{run_dir}: already trained {initial_epoch} epochs (--epochs {config.epochs}); "
            "nothing to do. Raise --epochs to train further.")
        model = _load_checkpoint(state["path"])
        final = os.path.join(run_dir, MODEL_FILE)
        if not os.path.exists(final):  # stopped between the last checkpoint and model.keras
            save_model_atomically(model, final)
        return model

    data = load_images(config.data, image_size=config.image_size, seed=config.seed,
                       tfds_data_dir=config.tfds_data_dir)
    log(f"data: {data.describe()}")
    if config.balance_classes and not data.class_names:
        raise UserInputError(f"--balance-classes needs labelled data (class sub-folders, a "
                             f"TFDS label, builtin: styles); {config.data} has no classes")
    latent = resolved_latent_classes(config, data.class_names)
    if (data.class_names and not saved and not config.conditional
            and config.latent_classes == "auto"):
        log(f"note: the data has {len(data.class_names)} classes; " + (
            "the generator learns them through its latents, so that every class is drawn "
            "and can be asked for by name (--latent-classes false for none)" if latent else
            "--conditional trains on them, so that every class is drawn and can be asked "
            "for by name"))
    for flag, wanted in (("--conditional", config.conditional),
                         ("--latent-classes", config.latent_classes is True)):
        if wanted and len(data.class_names) < 1 + (flag == "--latent-classes"):
            raise UserInputError(
                f"{flag} needs labelled data: class sub-folders, a TFDS set with a label "
                f"feature, or builtin: styles; {config.data} has "
                f"{len(data.class_names) or 'no'} classes")
    steps = config.steps_per_epoch or max(1, data.num_images // config.batch_size)
    if saved and saved.get("steps_per_epoch", steps) != steps:
        raise UserInputError(
            f"run folder '{run_dir}' was trained with {saved['steps_per_epoch']} steps per "
            f"epoch and the data now gives {steps}; pass the same data and --steps-per-epoch")
    # The data continue where the run stopped: the same batches as an
    # uninterrupted run.
    dataset = make_dataset(data, config.batch_size, seed=config.seed,
                           start_step=initial_epoch * steps, shard=backend.process_shard(),
                           balanced=config.balance_classes)

    # In a cluster every process runs this and every one saves (saving can
    # take part in collectives), but only the chief writes into the run folder;
    # the others write into a scratch folder that is removed at the end.
    chief = backend.is_chief()
    out_dir = run_dir if chief else tempfile.mkdtemp(prefix="genart-worker-")
    with backend.data_parallel(config.devices):
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
            model = build_compiled_model(config, data.class_names,
                                         None if config.balance_classes else class_shares(data),
                                         grayscale=data.grayscale)
        if chief:
            os.makedirs(run_dir, exist_ok=True)
            _write_json(config_path, {
                "config": config.to_dict(),
                "model_type": config.model,
                "class_names": data.class_names,
                "data_summary": data.summary,
                "steps_per_epoch": steps,
                "created": (saved or {}).get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
                "versions": _versions(),
            })
        callbacks = [
            NonFiniteLossGuard(checkpoint_dir),
            # About ten points of every loss per epoch (batch_*), and the epoch's (epoch_*).
            EpochSummaries(os.path.join(out_dir, "logs"), update_freq=max(1, steps // 10)),
            ImageGridCallback(os.path.join(out_dir, "samples"), os.path.join(out_dir, "logs"),
                              n=config.num_samples, seed=config.seed,
                              metadata={"keras_genart.run": os.path.abspath(run_dir)}),
            *_evaluation_callbacks(config, data, out_dir),
            ResumableCheckpoint(os.path.join(out_dir, "checkpoints")),
            *extra_callbacks,
        ]
        try:
            model.fit(dataset, epochs=config.epochs, initial_epoch=initial_epoch,
                      steps_per_epoch=steps, callbacks=callbacks, verbose=config.verbose,
                      shuffle=False)  # make_dataset shuffles
            save_model_atomically(model, os.path.join(out_dir, MODEL_FILE))
        finally:
            if not chief:
                shutil.rmtree(out_dir, ignore_errors=True)
    if chief:
        log(f"saved {os.path.join(run_dir, MODEL_FILE)}")
    return model


def _evaluation_callbacks(config, data, out_dir):
    """`EvaluationCallback` and the best-model checkpoint, when `eval_every` asks for them."""
    if not config.eval_every:
        return []
    from keras_genart.callbacks import BestModelCheckpoint, EvaluationCallback

    if config.eval_n > data.num_images:
        raise UserInputError(
            f"--eval-n {config.eval_n} is more than the {data.num_images} training pictures; "
            "lower it")
    group, lower_is_better = SCORES[config.eval_metric]
    return [
        EvaluationCallback(data.images, config.eval_every,
                           metrics=sorted({"fid", "kid", group}), n=config.eval_n,
                           seed=config.seed, log_dir=os.path.join(out_dir, "logs")),
        BestModelCheckpoint(os.path.join(out_dir, "best.keras"), f"val_{config.eval_metric}",
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
