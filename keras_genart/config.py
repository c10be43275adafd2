"""The one place a setting of a training run is declared.

A run is `TrainConfig(model=ModelConfig(...), data=DataConfig(...),
fit=FitConfig(...), seed, run_dir)`. Each field carries its help text and its
kind of value; `genart train`'s flags are made from the fields
(`add_arguments`), `config.json` records them (`run_record`), and
`build_model` takes a `ModelConfig`. What `"auto"` means is decided once, in
`resolve`, from the model type's preset (`PRESETS`) and what the data holds
(its classes, whether its pictures are gray). A new setting is one field here
plus the code that uses it.

Imports nothing heavy: `genart train --help` and every check of a config run
without Keras.

Example:
>>> config = TrainConfig.from_flat(model="dcgan", data="builtin:abstract:64",
...                                image_size=16, epochs=2)
>>> resolve(config, classes=["a", "b"]).model.latent_classes
True
"""

import argparse
import dataclasses
import os

from keras_genart.data.augment_names import AUGMENTATIONS
from keras_genart.errors import UserInputError
from keras_genart.metrics.names import SCORES
from keras_genart.models import MIXED_PRECISION, MODEL_TYPES
from keras_genart.options import (COLORS, DCGAN_LOSSES, IMAGE_SIZES, NORMALIZATIONS,
                                  UPSAMPLINGS, check_final_size)

# config.json's layout: 1 held the flat settings as asked ("config"); 2 holds them
# nested, as asked ("asked") and as resolved ("resolved").
CONFIG_VERSION = 2
AUTO = "auto"


# ---------------------------------------------------------------------------------------
# Kinds of values: one function per kind checks (and converts) a value given in Python or
# as command-line text, so that `TrainConfig(...)` and `genart train` accept the same
# values with the same message.

def _kind(convert, accept, expected):
    def check(value):
        try:
            result = convert(value)
        except (TypeError, ValueError, OverflowError):
            result = None
        if result is None or not accept(result):
            raise ValueError(f"expected {expected}, got {value!r}")
        return result

    check.expected = expected
    return check


def _to_int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    return int(value) if isinstance(value, str) else int(value.__index__())


def _to_float(value):
    if isinstance(value, bool):
        return None
    return float(value)


positive_int = _kind(_to_int, lambda v: v >= 1, "a positive integer")
non_negative_int = _kind(_to_int, lambda v: v >= 0, "a non-negative integer")
positive_float = _kind(_to_float, lambda v: v > 0, "a positive number")
unit_float = _kind(_to_float, lambda v: 0 <= v < 1, "a number in [0, 1)")
decay = _kind(_to_float, lambda v: 0 < v < 1, "a decay in (0, 1), such as 0.999")
non_negative_float = _kind(_to_float, lambda v: v >= 0, "a number, 0 or more")


def image_size(value):
    """16, 32, 64 or 128."""
    side = positive_int(value)
    if side not in IMAGE_SIZES:
        raise ValueError(f"{value} is not supported; choose "
                         f"{', '.join(map(str, IMAGE_SIZES[:-1]))} or {IMAGE_SIZES[-1]} "
                         "(powers of two)")
    return side


def _is_auto(value):
    return isinstance(value, str) and value.lower() == AUTO


def _or_auto(kind):
    def check(value):
        if _is_auto(value):
            return AUTO
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"expected auto or {kind.expected}, got {value!r}") from None

    check.expected = f"auto or {kind.expected}"
    return check


def _optional(kind):
    """None (the text "none") or a value of `kind`."""
    def check(value):
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        return kind(value)

    check.expected = kind.expected
    return check


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def boolean(value):
    """True or False, or their usual words on the command line."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise ValueError(f"expected true or false, got {value!r}")


boolean.expected = "true or false"
bool_or_auto = _or_auto(boolean)


def jit_mode(value):
    """auto, true, false, or what auto resolves to where it is timed: fastest."""
    if isinstance(value, str) and value.lower() == "fastest":
        return "fastest"
    return bool_or_auto(value)


jit_mode.expected = bool_or_auto.expected


def _or_unused(kind):
    """`kind`, or Python's None: a GAN's setting that a resolved VAE does not use."""
    def check(value):
        return None if value is None else kind(value)

    check.expected = kind.expected
    if hasattr(kind, "choices"):
        check.choices = kind.choices
    return check


def ema_decay(value):
    """auto, none (off) or a decay in (0, 1)."""
    if _is_auto(value):
        return AUTO
    if value is None or (isinstance(value, str) and value.lower() in ("none", "off")):
        return None
    try:
        return decay(value)
    except ValueError:
        raise ValueError(f"expected auto, none or a decay in (0, 1) such as 0.999, got "
                         f"{value!r}") from None


def augment_list(value):
    """A list of augmentation names: a list, or comma-separated text ("none": none)."""
    if isinstance(value, str):
        value = [] if value.strip() in ("", "none") else [
            n.strip() for n in value.split(",") if n.strip()]
    names = list(value or [])
    bad = [n for n in names if n not in AUGMENTATIONS]
    if bad:
        raise ValueError(f"unknown augmentation {', '.join(map(str, bad))}; choose from "
                         f"{', '.join(AUGMENTATIONS)} (comma-separated) or 'none'")
    return names


def one_of(choices, auto=False):
    """A value among `choices` (or "auto")."""
    def check(value):
        if auto and _is_auto(value):
            return AUTO
        if value not in choices:
            raise ValueError(f"expected {'auto, ' if auto else ''}{', '.join(choices)}; got "
                             f"{value!r}")
        return value

    check.expected = ", ".join(((AUTO,) if auto else ()) + tuple(choices))
    check.choices = ((AUTO,) if auto else ()) + tuple(choices)
    return check


def text(value):
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty text, got {value!r}")
    return value


text.expected = "a non-empty text"


def setting(default, help, kind, *, flag=None, metavar=None, resumable=False, cli=True,
            flat=None, nargs=None, const=None, store_true=False, positional=False):
    """A config field with what `genart train` and `config.json` need to know of it.

    Args:
        default: the value when none is given (lists are copied per config).
        help: str. The flag's help text, without its default.
        kind: callable. Checks and converts a value (Python or command-line text).
        flag: str. The command-line flag. Defaults to `--` and the field's name with
            dashes.
        metavar, nargs, const: argparse's.
        resumable: bool. May change when a run is resumed (it does not change the
            model or the data a step sees).
        cli: bool. Offered as a flag.
        flat: str. The name of the setting in version 1's flat config, when it is not
            the field's name.
        store_true: bool. A flag without a value that turns the setting on.
        positional: bool. A positional argument instead of a flag.
    """
    metadata = dict(help=help, kind=kind, flag=flag, metavar=metavar, resumable=resumable,
                    cli=cli, flat=flat, nargs=nargs, const=const, store_true=store_true,
                    positional=positional)
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


# ---------------------------------------------------------------------------------------
# The presets: what "auto" and unset settings mean per model type (keras-hub's presets
# are the model). Measured with benchmarks/quality.py (benchmarks/README.md): GANs draw
# with a moving average of the generator; DCGAN's generator steps from the
# discriminator's forward pass and its discriminator stops at 8x8 maps; WGAN-GP keeps
# its five critic steps, the DCGAN paper's 4x4 maps and a layer-normalized critic.
PRESETS = {
    "dcgan": dict(ema=0.999, shared_fakes=True, d_final_size=8, minibatch_std=True,
                  lr=2e-4, beta1=0.5, beta2=0.999),
    "wgan-gp": dict(ema=0.999, shared_fakes=False, d_final_size=4, minibatch_std=False,
                    d_normalization="layer", lr=1e-4, beta1=0.0, beta2=0.9),
    "vae": dict(ema=None, shared_fakes=False, d_final_size=None, minibatch_std=None,
                d_normalization=None, lr=1e-3, beta1=0.9, beta2=0.999),
}
# Settings of the adversarial step, which the VAE does not have.
GAN_ONLY = ("ema", "shared_fakes", "d_final_size", "r1")


def _preset_help(key, shown=lambda v: "none" if v is None else str(v).lower()):
    """The preset's values of `key` per model type, for a flag's help (a model type
    whose preset leaves the setting unused is left out; the EMA's none is "off")."""
    return ", ".join(f"{model} {shown(values[key])}" for model, values in PRESETS.items()
                     if key in values and (values[key] is not None or key == "ema"))


NONE_MEANS_AUTO = ("d_normalization", "minibatch_std", "d_final_size", "upsampling")


@dataclasses.dataclass
class ModelConfig:
    """What builds a model's networks and its training step (`build_model`)."""

    type: str = setting("dcgan", "training algorithm", one_of(MODEL_TYPES), flat="model",
                        positional=True)
    image_size: int = setting(32, "16, 32, 64 or 128", image_size)
    latent_dim: int = setting(128, "size of the generator's latent vector z", positive_int)
    base_width: int = setting(64, "filters at the highest resolution; doubled per lower one",
                              positive_int)
    max_width: int = setting(512, "most filters in any layer", positive_int)
    blocks_per_stage: int = setting(0, "extra conv blocks per resolution (depth)",
                                    non_negative_int)
    d_normalization: str = setting(
        AUTO, "discriminator normalization; auto: dcgan none, or spectral when it learns "
        "classes (--conditional, --latent-classes); wgan-gp layer, and it refuses batch",
        _or_unused(one_of(NORMALIZATIONS, auto=True)), flag="--d-norm")
    minibatch_std: bool = setting(
        AUTO, "minibatch standard-deviation channel in the discriminator (auto: "
        + _preset_help("minibatch_std", lambda v: "on" if v else "off") + ")",
        _or_unused(bool_or_auto))
    packing: int = setting(
        1, "DCGAN: pictures the discriminator judges at once (PacGAN); 2 with --upsampling "
        "resize drew an unlabelled mix of styles more evenly (docs/design.md)", positive_int)
    loss: str = setting("non_saturating", "DCGAN adversarial loss", one_of(DCGAN_LOSSES))
    n_critic: int = setting(5, "WGAN-GP critic steps per generator step", positive_int)
    gp_weight: float = setting(10.0, "WGAN-GP gradient penalty weight (lambda)",
                               positive_float)
    beta: float = setting(1.0, "VAE KL weight", positive_float)
    ema: float = setting(
        AUTO, "GANs: pictures from a moving average of the generator with this decay; auto: "
        + _preset_help("ema") + "; none: off", ema_decay)
    r1: float = setting(0.0, "GANs: R1 penalty on the discriminator's gradient at real "
                        "pictures; 0 for none", non_negative_float, metavar="GAMMA")
    r1_interval: int = setting(16, "discriminator updates between R1 computations (lazy R1)",
                               positive_int)
    shared_fakes: bool = setting(
        AUTO, "GANs: the generator's update reuses the discriminator update's fakes and "
        "forward pass (one pass fewer per step); auto: "
        + _preset_help("shared_fakes", lambda v: "on" if v else "off"), bool_or_auto)
    upsampling: str = setting(
        AUTO, "generator: stride-2 transposed convolutions, or nearest resize and a 3x3 "
        "convolution (no checkerboard artifacts); auto: resize for the dcgan that learns "
        "classes (--conditional, --latent-classes), transpose otherwise",
        one_of(UPSAMPLINGS, auto=True))
    colors: str = setting(
        AUTO, "the pictures the generator makes: rgb, or gray (one channel copied into red, "
        "green and blue: it cannot tint them); auto: gray when every training picture is "
        "gray", one_of(COLORS, auto=True))
    d_final_size: int = setting(
        AUTO, "GANs: side of the discriminator's last feature map (4, 8, ... up to half the "
        "image size; 8 leaves out its widest stage, about a third of a step's time on a "
        "CPU); auto: " + _preset_help("d_final_size"), _or_unused(_or_auto(positive_int)),
        metavar="SIDE")
    conditional: bool = setting(
        False, "a class-conditional model trained on the data's classes (class sub-folders, "
        "TFDS labels or the builtin: styles): GANs get a label in the generator and a "
        "projection discriminator, the vae a label in the encoder and the decoder", boolean,
        store_true=True)
    latent_classes: bool = setting(
        AUTO, "GANs: learn the data's classes as --conditional does, with a generator that "
        "takes z only and reads the class from the angle of z's first two values (each "
        "class's arc its share of the data): every class is drawn, and the export stays "
        "unconditional; auto: on for dcgan on labelled data (not with --conditional or "
        "--packing); the flag alone: true", bool_or_auto, nargs="?", const=True,
        metavar="auto|true|false")
    augment: list = setting(
        [], "comma-separated, or none: flip (real pictures only: for subjects that may face "
        "either way), DiffAugment's color, translation, cutout (real and generated "
        "pictures), translate (mirrored border)", augment_list)
    mixed_precision: str = setting(
        "off", "compute in bfloat16 or float16 (float32 weights, outputs and losses; float16 "
        "scales the losses)", one_of(MIXED_PRECISION))

    def __post_init__(self):
        # None meant the default in build_model's keywords and version 1's config.json:
        # "auto" now (a resolved VAE keeps None for the GAN settings it does not use).
        for key in NONE_MEANS_AUTO:
            if getattr(self, key) is None and (self.type != "vae" or key == "upsampling"):
                setattr(self, key, AUTO)
        _check_fields(self)
        _check_model(self)


@dataclasses.dataclass
class DataConfig:
    """Where the training pictures come from and how they are drawn."""

    source: str = setting(
        "builtin:abstract", "a folder of images, tfds:NAME[:SPLIT] or builtin:NAME[:COUNT] "
        "(NAME: abstract, bauhaus, kandinsky, mondrian, op_art, suprematism)", text,
        flag="--data", flat="data")
    balance_classes: bool = setting(
        False, "labelled data: every class drawn equally often (rare classes' pictures "
        "repeat more), for imbalanced folders", boolean, store_true=True)
    tfds_data_dir: str = setting(
        None, "folder where TFDS data sets were prepared (never downloaded here) (default: "
        "TFDS' own, ~/tensorflow_datasets)", _optional(text), resumable=True)

    def __post_init__(self):
        _check_fields(self)
        from keras_genart.data.sources import parse_source

        parse_source(self.source)


@dataclasses.dataclass
class FitConfig:
    """How `fit` runs: batches, epochs, optimizers, compilation, devices, evaluation."""

    batch_size: int = setting(64, "pictures per step (over all devices)", positive_int)
    epochs: int = setting(10, "epochs to train; raise it to train a finished run further",
                          positive_int, resumable=True)
    steps_per_epoch: int = setting(
        None, "steps per epoch (default: one pass over the data)", _optional(positive_int))
    lr: float = setting(None, "learning rate (default: " + _preset_help("lr") + ")",
                        _optional(positive_float))
    beta1: float = setting(None, "Adam beta_1 (default: " + _preset_help("beta1") + ")",
                           _optional(unit_float))
    beta2: float = setting(None, "Adam beta_2 (default: " + _preset_help("beta2") + ")",
                           _optional(unit_float))
    jit_compile: bool = setting(
        AUTO, "XLA-compile the train step. auto: always on JAX; on TensorFlow XLA on GPUs, "
        "none under --devices > 1, and on CPUs a run of 1000+ steps times both ways first "
        "and keeps the faster ('fastest' once resolved)", jit_mode)
    steps_per_execution: int = setting(1, "training steps per compiled call", positive_int)
    devices: int = setting(
        1, "data-parallel devices: tf.distribute.MirroredStrategy on TensorFlow, "
        "keras.distribution.DataParallel on JAX", positive_int, resumable=True)
    eval_every: int = setting(
        None, "score the model every N epochs (val_fid, val_kid, ... in the logs and "
        "TensorBoard) and keep best.keras (default: off)", _optional(positive_int),
        metavar="N", resumable=True)
    eval_metric: str = setting("kid", "the score that picks best.keras", one_of(tuple(SCORES)),
                               resumable=True)
    eval_n: int = setting(1000, "pictures generated (and real pictures) per evaluation",
                          _kind(_to_int, lambda v: v >= 2, "an integer, 2 or more"),
                          resumable=True)
    num_samples: int = setting(64, "pictures in each epoch's sample grid", positive_int,
                               cli=False, resumable=True)
    verbose: int = setting(1, "Keras' progress output: 0 none, 1 a bar, 2 a line per epoch",
                           _kind(_to_int, lambda v: v in (0, 1, 2), "0, 1 or 2"), cli=False,
                           resumable=True)

    def __post_init__(self):
        _check_fields(self)


GROUPS = {"model": ModelConfig, "data": DataConfig, "fit": FitConfig}


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run depends on; saved in the run's `config.json`.

    Defaults are those of `genart train`; `"auto"` settings are decided by `resolve`.

    Args:
        model: `ModelConfig`. The networks and the training step.
        data: `DataConfig`. The training pictures.
        fit: `FitConfig`. How `fit` runs.
        seed: int. Weights, latents, shuffling and augmentation. Defaults to 0.
        run_dir: str. The run folder. Defaults to `runs/MODEL`.

    Example:
    >>> config = TrainConfig(ModelConfig("vae", image_size=16), DataConfig("builtin:mondrian"))
    >>> config.run_dir
    'runs/vae'
    """

    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    fit: FitConfig = dataclasses.field(default_factory=FitConfig)
    seed: int = setting(0, "weights, latents, shuffling and augmentation", non_negative_int)
    run_dir: str = setting(None, "run folder (default: runs/MODEL)", _optional(text),
                           resumable=True)

    def __post_init__(self):
        for name, group in GROUPS.items():
            value = getattr(self, name)
            if isinstance(value, dict):
                setattr(self, name, group(**value))
            elif not isinstance(value, group):
                raise UserInputError(f"{name}: expected a {group.__name__}, got {value!r}")
        _check_fields(self, skip=tuple(GROUPS))
        _check_train(self)
        if self.run_dir is None:
            self.run_dir = os.path.join("runs", self.model.type)

    def to_dict(self):
        """The settings as nested plain values (JSON-ready)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """A config from `to_dict`'s nested form, or from version 1's flat one."""
        if any(isinstance(values.get(name), dict) for name in GROUPS):
            return cls(**{k: v for k, v in values.items()
                          if k in {f.name for f in dataclasses.fields(cls)}})
        return cls.from_flat(**values)

    @classmethod
    def from_flat(cls, **settings):
        """A config from every setting as one keyword (`model="dcgan"`, `data=...`,
        `epochs=...`): the form of version 1's `config.json` and a convenience.
        Unknown names are refused."""
        grouped = {name: {} for name in GROUPS}
        top = {}
        where = _flat_names()
        unknown = sorted(set(settings) - set(where))
        if unknown:
            raise UserInputError(f"unknown setting {', '.join(unknown)}; known: "
                                 f"{', '.join(sorted(where))}")
        for key, value in settings.items():
            group, field = where[key]
            (grouped[group] if group else top)[field] = value
        return cls(**{name: GROUPS[name](**values) for name, values in grouped.items()}, **top)

    def flat(self):
        """Every setting as one flat dict, named as in version 1 (`model`, `data`, ...)."""
        values = {}
        for key, (group, field) in _flat_names().items():
            values[key] = getattr(getattr(self, group) if group else self, field)
        return values


def _fields(obj):
    return [f for f in dataclasses.fields(obj) if "kind" in f.metadata]


def _flat_names():
    """`{flat name: (group or None, field name)}`."""
    names = {}
    for group, cls in GROUPS.items():
        for f in _fields(cls):
            names[f.metadata["flat"] or f.name] = (group, f.name)
    for f in _fields(TrainConfig):
        names[f.name] = (None, f.name)
    return names


def _check_fields(obj, skip=()):
    """Checks and converts every field of a config dataclass; UserInputError names it."""
    for f in _fields(obj):
        if f.name in skip:
            continue
        try:
            setattr(obj, f.name, f.metadata["kind"](getattr(obj, f.name)))
        except ValueError as error:
            raise UserInputError(f"{f.name}: {error}") from None


def _check_model(model):
    """The settings of a model that cannot go together."""
    gan = model.type != "vae"
    if model.conditional and model.packing != 1:
        raise UserInputError("a conditional GAN does not pack (--packing 1): the pictures "
                             "judged together would have different labels")
    if model.latent_classes is True and (model.conditional or not gan or model.packing != 1):
        raise UserInputError("--latent-classes is for GANs (dcgan, wgan-gp) without "
                             "--conditional (the other way to learn the classes) and "
                             "without --packing")
    if model.latent_classes is True and model.latent_dim < 2:
        raise UserInputError(f"latent-coded classes need --latent-dim 2 or more, got "
                             f"{model.latent_dim}")
    if not gan and (model.ema not in (None, AUTO) or model.r1 or model.shared_fakes is True
                    or model.d_final_size not in (None, AUTO)):
        raise UserInputError("--ema, --r1, --shared-fakes and --d-final-size are for GANs "
                             "(dcgan, wgan-gp), not the vae")
    if model.type != "dcgan" and model.packing != 1:
        raise UserInputError(f"packing {model.packing}: DCGAN packs 1 or more pictures per "
                             f"discriminator input; {model.type} does not pack")
    if model.type == "wgan-gp" and model.d_normalization == "batch":
        raise UserInputError("WGAN-GP's critic cannot use batch normalization (the gradient "
                             "penalty is per sample); choose layer, spectral or none")
    if model.type == "wgan-gp" and model.minibatch_std is True:
        raise UserInputError("WGAN-GP's critic cannot use a minibatch standard-deviation "
                             "channel (it mixes samples, and the gradient penalty is per "
                             "sample); leave --minibatch-std off")
    if gan and model.d_final_size not in (None, AUTO):
        try:
            check_final_size(model.image_size, model.d_final_size)
        except (TypeError, ValueError) as error:
            raise UserInputError(f"d_final_size: {error}") from None


def _check_train(config):
    """The settings of a run that cannot go together."""
    fit, model = config.fit, config.model
    if SCORES[fit.eval_metric][0] == "classes" and not config.data.source.startswith(
            "builtin:"):
        raise UserInputError(
            f"eval metric {fit.eval_metric} uses the built-in style classifier, which knows "
            "only builtin: data; choose another")
    if fit.batch_size % fit.devices:
        raise UserInputError(
            f"batch size {fit.batch_size} does not split evenly over {fit.devices} devices; "
            "choose a multiple of --devices")
    if (fit.batch_size // fit.devices) % model.packing:
        raise UserInputError(
            f"packing {model.packing} must be at least 1 and divide the batch of each "
            f"device ({fit.batch_size // fit.devices})")


def check_data_exists(config):
    """Raises a UserInputError naming a data folder that is not there (before any
    backend loads, so that the mistake is reported at once)."""
    from keras_genart.data.sources import parse_source

    kind, parts = parse_source(config.data.source)
    if kind == "folder" and not os.path.isdir(parts[0]):
        raise UserInputError(
            f"data folder '{parts[0]}' does not exist or is not a folder; pass a folder of "
            "images, 'builtin:NAME' or 'tfds:NAME[:SPLIT]'")


# ---------------------------------------------------------------------------------------
# Resolution: every "auto" and unset setting made concrete.

def resolve_model(model, classes=None, grayscale=False):
    """The `ModelConfig` with every `"auto"` decided.

    Args:
        model: `ModelConfig`.
        classes: list of str. The data's class names (none: unlabelled).
        grayscale: bool. Whether every training picture is gray.
    """
    preset = PRESETS[model.type]
    values = dataclasses.asdict(model)
    for key in ("ema", "shared_fakes", "d_final_size", "minibatch_std"):
        if values[key] == AUTO:
            values[key] = preset[key]
    if values["latent_classes"] == AUTO:
        values["latent_classes"] = (model.type == "dcgan" and not model.conditional
                                    and model.packing == 1 and model.latent_dim >= 2
                                    and len(classes or []) >= 2)
    learns_classes = model.conditional or values["latent_classes"]
    if values["upsampling"] == AUTO:
        values["upsampling"] = ("resize" if model.type == "dcgan" and learns_classes
                                else "transpose")
    if values["d_normalization"] == AUTO:
        values["d_normalization"] = preset.get(
            "d_normalization", "spectral" if learns_classes else "none")
    if values["colors"] == AUTO:
        values["colors"] = "gray" if grayscale else "rgb"
    return ModelConfig(**values)


def resolve(config, classes=None, grayscale=False, backend=None):
    """The `TrainConfig` with every `"auto"` and unset setting decided.

    Args:
        config: `TrainConfig`.
        classes: list of str. The data's class names (none: unlabelled).
        grayscale: bool. Whether every training picture is gray.
        backend: str. The Keras backend. Defaults to `$KERAS_BACKEND`, else
            tensorflow.
    """
    model = resolve_model(config.model, classes, grayscale)
    fit = dataclasses.asdict(config.fit)
    preset = PRESETS[model.type]
    for key in ("lr", "beta1", "beta2"):
        if fit[key] is None:
            fit[key] = preset[key]
    if fit["jit_compile"] == AUTO:
        backend = backend or os.environ.get("KERAS_BACKEND", "tensorflow")
        # TensorFlow: no XLA under tf.distribute; otherwise XLA on GPUs, and a long run on
        # a CPU times both and keeps the faster (backend.resolve_jit_compile).
        fit["jit_compile"] = (True if backend == "jax" else False if fit["devices"] > 1
                              else "fastest")
    return dataclasses.replace(config, model=model, fit=FitConfig(**fit),
                               data=dataclasses.replace(config.data))


def compile_jit(fit):
    """The `jit_compile` to give `compile` for a resolved `FitConfig`."""
    return AUTO if fit.jit_compile == "fastest" else fit.jit_compile


def optimizer_settings(fit):
    """Adam's `learning_rate`, `beta_1`, `beta_2` of a resolved `FitConfig`."""
    return {"learning_rate": fit.lr, "beta_1": fit.beta1, "beta_2": fit.beta2}


# ---------------------------------------------------------------------------------------
# config.json: what the user asked and what it resolved to, with migrations of older runs.

# Settings added after version-1 runs were made, with the value that such runs had.
ADDED_SETTINGS = {"ema": None, "r1": 0.0, "r1_interval": 16, "upsampling": "transpose",
                  "shared_fakes": False, "d_final_size": 4, "conditional": False,
                  "balance_classes": False, "latent_classes": False, "colors": "rgb"}


def run_record(asked, resolved, **extras):
    """The payload of a run's `config.json` (version `CONFIG_VERSION`)."""
    return {"config_version": CONFIG_VERSION, "asked": asked.to_dict(),
            "resolved": resolved.to_dict(), **extras}


@dataclasses.dataclass
class SavedRun:
    """A run's `config.json`, read and migrated to the current version.

    Attributes:
        asked: `TrainConfig`. The settings as asked (a setting the run's version did not
            have is taken as asked by today's default).
        resolved: `TrainConfig` or None. What they meant; None for a version-1 run,
            whose meaning `resolved_with` finds from its data.
        extras: dict. The rest of the file (class names, data summary, ...).
    """

    asked: TrainConfig
    resolved: object
    extras: dict
    _then: dict = dataclasses.field(default_factory=dict)

    def resolved_with(self, classes=None, grayscale=False):
        """The run's resolved settings (a version-1 run's resolved with its data)."""
        if self.resolved is not None:
            return self.resolved
        flat = {**self.asked.flat(), **self._then}
        return resolve(TrainConfig.from_flat(**flat), classes, grayscale)


def read_run_config(payload):
    """`SavedRun` of a `config.json` payload of any version."""
    version = payload.get("config_version", 1)
    extras = {k: v for k, v in payload.items() if k not in ("config", "asked", "resolved")}
    if version == 1:
        saved = dict(payload.get("config", {}))
        known = _flat_names()
        saved = {k: v for k, v in saved.items() if k in known}
        then = {k: v for k, v in ADDED_SETTINGS.items() if k not in saved}
        return SavedRun(TrainConfig.from_flat(**saved), None, extras, then)
    if version > CONFIG_VERSION:
        raise UserInputError(f"config.json version {version} is newer than this keras_genart "
                             f"reads ({CONFIG_VERSION}); update keras_genart")
    return SavedRun(TrainConfig.from_dict(payload["asked"]),
                    TrainConfig.from_dict(payload["resolved"]), extras)


def training_config(payload):
    """The settings a run trained with, nested (resolved where the run's config.json
    says), from a `config.json` payload of any version; {} for none (an export's
    `training_config`)."""
    if not payload:
        return {}
    saved = read_run_config(payload)
    return (saved.resolved or saved.asked).to_dict()


def _leaves(config):
    """`{(group or None, field): (value, resumable)}` of a `TrainConfig`."""
    leaves = {}
    for group, cls in GROUPS.items():
        for f in _fields(cls):
            leaves[(group, f.name)] = (getattr(getattr(config, group), f.name),
                                       f.metadata["resumable"])
    for f in _fields(TrainConfig):
        leaves[(None, f.name)] = (getattr(config, f.name), f.metadata["resumable"])
    return leaves


def resume_settings(saved, asked, classes=None, grayscale=False):
    """The resolved settings with which `asked` resumes the run `saved`.

    A setting asked as the run asked it keeps what it meant in the run (an `"auto"`
    whose meaning changed since, or a setting the run's version did not have, resumes
    as it was); any other setting must resolve to the run's value unless it may change
    on a resume (`resumable`).

    Raises:
        UserInputError: naming each setting that differs.
    """
    was = _leaves(saved.resolved_with(classes, grayscale))
    then = _leaves(saved.asked)
    now_asked = _leaves(asked)
    now = _leaves(resolve(asked, classes, grayscale))
    values = {}
    differences = []
    for key, (value, resumable) in now.items():
        if not resumable and now_asked[key][0] == then[key][0]:
            value = was[key][0]
        values[key] = value
        if not resumable and value != was[key][0]:
            differences.append(f"{key[1]}: {was[key][0]!r} in the run, {value!r} now")
    if differences:
        raise UserInputError(
            f"run folder '{asked.run_dir}' holds a run with other settings ("
            + "; ".join(differences) + "); pass a new --run-dir, or the same settings to "
            "resume it")
    grouped = {name: {} for name in GROUPS}
    top = {}
    for (group, field), value in values.items():
        (grouped[group] if group else top)[field] = value
    return TrainConfig(**{name: GROUPS[name](**v) for name, v in grouped.items()}, **top)


# ---------------------------------------------------------------------------------------
# `genart train`'s flags, made from the fields.

def _cli_text(value):
    """A default as the command line writes it (argparse parses text defaults too)."""
    if isinstance(value, list):
        return ",".join(value) or "none"
    if value is None:
        return None
    return value


def add_arguments(parser):
    """Adds a flag (or positional) for every setting of `TrainConfig` to `parser`."""
    def argparse_type(kind):
        def parse(text):
            try:
                return kind(text)
            except ValueError as error:
                raise argparse.ArgumentTypeError(str(error)) from None

        parse.__name__ = getattr(kind, "__name__", "value")
        return parse

    def add(f, dest):
        meta = f.metadata
        if not meta["cli"]:
            return
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if meta["store_true"]:
            parser.add_argument(meta["flag"] or "--" + f.name.replace("_", "-"), dest=dest,
                                action="store_true", help=meta["help"])
            return
        choices = getattr(meta["kind"], "choices", None)
        options = dict(help=meta["help"], type=argparse_type(meta["kind"]))
        if choices is not None:
            options.update(choices=choices, type=None)
        if meta["positional"]:
            parser.add_argument(dest, **options)
            return
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        options.update(default=_cli_text(default), dest=dest,
                       metavar=flag[2:].replace("-", "_").upper())
        for key in ("metavar", "nargs", "const"):
            if meta[key] is not None:
                options[key] = meta[key]
        if choices is not None:
            del options["metavar"]  # argparse shows the choices
        parser.add_argument(flag, **options)

    for group, cls in GROUPS.items():
        for f in _fields(cls):
            add(f, f"{group}.{f.name}")
    for f in _fields(TrainConfig):
        add(f, f.name)


def from_arguments(args, **overrides):
    """The `TrainConfig` of parsed `add_arguments` flags (`overrides`: flat settings
    that no flag sets, such as `verbose`)."""
    values = vars(args)
    flat = {}
    for key, (group, field) in _flat_names().items():
        dest = f"{group}.{field}" if group else field
        if dest in values:
            flat[key] = values[dest]
    return TrainConfig.from_flat(**{**flat, **overrides})


# ---------------------------------------------------------------------------------------
# Named presets of whole runs.

# The demo: `genart train dcgan`'s defaults on the five built-in styles, one row of the
# grid per style, on 2 CPU cores in about 6 minutes (benchmarks/README.md). It counts
# steps, not minutes, so that its pictures are the same on every machine.
RUN_PRESETS = {
    "demo": dict(model="dcgan", data="builtin:abstract:4096", image_size=32, batch_size=64,
                 epochs=8, steps_per_epoch=250, run_dir=os.path.join("runs", "demo")),
}


def run_preset(name, **overrides):
    """The `TrainConfig` of a named run preset (`RUN_PRESETS`), with flat overrides."""
    if name not in RUN_PRESETS:
        raise UserInputError(f"unknown preset {name!r}; choose from "
                             f"{', '.join(RUN_PRESETS)}")
    return TrainConfig.from_flat(**{**RUN_PRESETS[name], **overrides})
