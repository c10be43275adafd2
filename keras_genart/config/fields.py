"""The settings of a run as dataclasses: each field carries its help text and its kind."""

import dataclasses
import os

from keras_genart.config import kinds
from keras_genart.config.kinds import (AUTO, augment_list, bool_or_auto, boolean, ema_decay,
                                       image_size, jit_mode, non_negative_float,
                                       non_negative_int, one_of, positive_float,
                                       positive_int, text, unit_float)
from keras_genart.config.presets import RUN_PRESETS, _preset_help
from keras_genart.errors import UserInputError
from keras_genart.options import (COLORS, DCGAN_LOSSES, MIXED_PRECISION, MODEL_TYPES,
                                  NORMALIZATIONS, SCORES, UPSAMPLINGS, check_final_size)

_optional, _or_auto, _or_unused = kinds._optional, kinds._or_auto, kinds._or_unused


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
        1, "data-parallel devices per process: tf.distribute.MirroredStrategy on "
        "TensorFlow, keras.distribution.DataParallel on JAX (several processes: each uses "
        "its first N)", positive_int, resumable=True)
    eval_every: int = setting(
        None, "score the model every N epochs (val_fid, val_kid, ... in the logs and "
        "TensorBoard) and keep best.keras (default: off)", _optional(positive_int),
        metavar="N", resumable=True)
    eval_metric: str = setting("kid", "the score that picks best.keras", one_of(tuple(SCORES)),
                               resumable=True)
    eval_n: int = setting(1000, "pictures generated (and real pictures) per evaluation",
                          kinds.checked(kinds.to_int, lambda v: v >= 2, "an integer, 2 or more"),
                          resumable=True)
    num_samples: int = setting(64, "pictures in each epoch's sample grid", positive_int,
                               cli=False, resumable=True)
    verbose: int = setting(1, "Keras' progress output: 0 none, 1 a bar, 2 a line per epoch",
                           kinds.checked(kinds.to_int, lambda v: v in (0, 1, 2), "0, 1 or 2"),
                           cli=False, resumable=True)

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
        check_train(self)
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
        where = _flat_names()
        unknown = sorted(set(settings) - set(where))
        if unknown:
            raise UserInputError(f"unknown setting {', '.join(unknown)}; known: "
                                 f"{', '.join(sorted(where))}")
        return from_leaves({where[key]: value for key, value in settings.items()})

    def flat(self):
        """Every setting as one flat dict, named as in version 1 (`model`, `data`, ...)."""
        values = {}
        for key, (group, field) in _flat_names().items():
            values[key] = getattr(getattr(self, group) if group else self, field)
        return values


def from_leaves(values):
    """A `TrainConfig` of `{(group or None, field): value}`; missing settings take their
    defaults."""
    grouped = {name: {} for name in GROUPS}
    top = {}
    for (group, field), value in values.items():
        (grouped[group] if group else top)[field] = value
    return TrainConfig(**{name: GROUPS[name](**v) for name, v in grouped.items()}, **top)


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
    if model.latent_classes is True and (model.conditional or not gan):
        raise UserInputError("--latent-classes is for GANs (dcgan, wgan-gp) without "
                             "--conditional (the other way to learn the classes) and "
                             "without --packing")
    if model.latent_classes is True and model.packing != 1:
        raise UserInputError("latent-coded classes do not pack (--packing 1): the pictures "
                             "judged together would have different labels")
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


def check_train(config, processes=1):
    """The settings of a run that cannot go together.

    Args:
        config: `TrainConfig`.
        processes: int. Processes that train the run together, each on
            `--devices` devices (a config alone does not know: `runs.train`
            checks again with the cluster's). Defaults to 1.
    """
    fit, model = config.fit, config.model
    if SCORES[fit.eval_metric][0] == "classes" and not config.data.source.startswith(
            "builtin:"):
        raise UserInputError(
            f"eval metric {fit.eval_metric} uses the built-in style classifier, which knows "
            "only builtin: data; choose another")
    replicas = processes * fit.devices
    if processes == 1:
        over, multiple, each, detail = f"{fit.devices} devices", "--devices", "device", ""
    else:
        split = f"{processes} processes x {fit.devices} device{'s' * (fit.devices > 1)} each"
        over, multiple, each = f"{replicas} replicas ({split})", replicas, "replica"
        detail = f": batch size {fit.batch_size} over {split}"
    if fit.batch_size % replicas:
        raise UserInputError(f"batch size {fit.batch_size} does not split evenly over {over}; "
                             f"choose a multiple of {multiple}")
    if (fit.batch_size // replicas) % model.packing:
        raise UserInputError(
            f"packing {model.packing} must be at least 1 and divide the batch of each "
            f"{each} ({fit.batch_size // replicas}{detail})")


def check_data_exists(config):
    """Raises a UserInputError naming a data folder that is not there (before any
    backend loads, so that the mistake is reported at once)."""
    from keras_genart.data.image_folder import check_folder
    from keras_genart.data.sources import parse_source

    kind, parts = parse_source(config.data.source)
    if kind == "folder":
        check_folder(parts[0])


def run_preset(name, **overrides):
    """The `TrainConfig` of a named run preset (`RUN_PRESETS`), with flat overrides."""
    if name not in RUN_PRESETS:
        raise UserInputError(f"unknown preset {name!r}; choose from "
                             f"{', '.join(RUN_PRESETS)}")
    return TrainConfig.from_flat(**{**RUN_PRESETS[name], **overrides})
