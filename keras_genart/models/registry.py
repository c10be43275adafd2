"""Builds a model from a `ModelConfig` (or a model type and settings): what `genart train`,
the run folders and library users call."""

from keras_genart import latents
from keras_genart.errors import UserInputError

from keras_genart.options import MIXED_PRECISION, MODEL_TYPES


def build_model(model="dcgan", *, seed=None, classes=None, class_shares=None,
                grayscale=False, **settings):
    """Builds an untrained model: the recipe `genart train` trains, or a variant of it.

    With a model type and no settings this is `genart train`'s preset of that
    type (`keras_genart.config.PRESETS`): the same networks and training step.
    Every setting is a `ModelConfig` field; `"auto"` ones are decided by
    `config.resolve_model` from the preset and the data (`classes`,
    `grayscale`).

    Args:
        model: `ModelConfig`, or a model type (`"dcgan"`, `"wgan-gp"`,
            `"vae"`) whose preset `settings` change. Defaults to `"dcgan"`.
        seed: int. Seed of the weight initialisation (through
            `keras.utils.set_random_seed`, which also seeds Python's and
            NumPy's global generators) and of the training-time randomness.
            Defaults to None (unseeded).
        classes: list of str. The data's class names, which a conditional
            model (`conditional=True`) and latent-coded classes
            (`latent_classes`) learn. Defaults to None (unlabelled data).
        class_shares: list of float. Latent-coded classes' shares of the data
            (their shares of the latents). Defaults to equal shares.
        grayscale: bool. Whether every training picture is gray, which
            `colors="auto"` follows. Defaults to False.
        **settings: `ModelConfig` fields, e.g. `image_size=16`. The names of
            earlier releases are taken too: `augmentation` (augment),
            `r1_weight` (r1), `gray` (colors), `class_names` (a conditional
            model of these classes), `latent_class_names` (latent-coded
            classes), `latent_class_shares` (class_shares); None for a setting
            that has an "auto" means "auto" (for `ema`: no moving average).

    Returns:
        A `DCGAN`, `WGANGP` or `VAE`.

    Example:
    >>> model = build_model("dcgan", image_size=16, latent_dim=8, base_width=8)
    """
    from keras_genart import config as settings_module

    if isinstance(model, settings_module.ModelConfig):
        if settings:
            raise TypeError(f"build_model takes a ModelConfig or settings, not both: "
                            f"{', '.join(sorted(settings))}")
        config = model
    else:
        if model not in MODEL_TYPES:
            raise UserInputError(
                f"unknown model type {model!r}; choose from {', '.join(MODEL_TYPES)}")
        settings, named = _current_names(settings)
        classes = named.get("classes", classes)
        class_shares = named.get("class_shares", class_shares)
        config = settings_module.ModelConfig(type=model, **settings)
    resolved = settings_module.resolve_model(config, classes, grayscale)
    return _build_resolved(resolved, seed, classes, class_shares)


# Names of earlier releases' keywords -> ModelConfig fields.
_RENAMED = {"augmentation": "augment", "r1_weight": "r1", "model_type": "type"}


def _current_names(settings):
    """`(ModelConfig settings, {"classes", "class_shares"})` of keyword arguments in
    today's and earlier releases' names."""
    settings = {_RENAMED.get(k, k): v for k, v in settings.items()}
    named = {}
    if "augment" in settings and settings["augment"] is None:
        settings["augment"] = []
    if "gray" in settings:
        settings["colors"] = "gray" if settings.pop("gray") else "rgb"
    class_names = settings.pop("class_names", None)
    latent_names = settings.pop("latent_class_names", None)
    shares = settings.pop("latent_class_shares", None)
    if class_names is not None and latent_names is not None:
        raise UserInputError("--conditional and --latent-classes are two ways to learn the "
                             "classes; choose one")
    if class_names is not None:
        settings["conditional"], named["classes"] = True, list(class_names)
    if latent_names is not None:
        settings["latent_classes"], named["classes"] = True, list(latent_names)
    elif shares is not None:
        raise UserInputError("latent class shares without latent class names")
    if shares is not None:
        named["class_shares"] = shares
    return settings, named


def _build_resolved(config, seed, classes, class_shares):
    """The model of a resolved `ModelConfig`, on data of the classes `classes`."""
    import keras

    classes = None if classes is None else [str(c) for c in classes]
    if config.conditional and not classes:
        raise UserInputError("a conditional model needs labelled data (class sub-folders, a "
                             "TFDS set with labels, or the builtin: styles); this data has "
                             "no classes")
    latent_classes = None
    if config.latent_classes:
        latent_classes = _check_latent_classes(classes, class_shares)
    elif class_shares is not None and not config.conditional:
        raise UserInputError("latent class shares without latent-coded classes")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype_policy(config.mixed_precision))
    if seed is not None:
        keras.utils.set_random_seed(int(seed))  # the same seed, the same initial weights
    try:
        return _build(config, seed, classes if config.conditional else None, latent_classes)
    finally:
        keras.config.set_dtype_policy(previous)


def _check_latent_classes(names, shares):
    """`(names, shares)` of latent-coded classes; UserInputError for what cannot be."""
    names = list(names or [])
    if len(names) < 2 or len(set(names)) != len(names):
        raise UserInputError(f"latent-coded classes need labelled data of two or more "
                             f"classes (class sub-folders, a TFDS set with labels, or the "
                             f"builtin: styles); this data has {len(names)}")
    if shares is None:
        shares = [1.0] * len(names)
    try:
        shares = latents.check_class_shares(shares)
    except ValueError as error:
        raise UserInputError(str(error)) from None
    if len(shares) != len(names):
        raise UserInputError(f"{len(shares)} class shares for {len(names)} classes")
    return names, [float(s) for s in shares]


def dtype_policy(mixed_precision):
    """Keras dtype policy name of a `--mixed-precision` value."""
    if mixed_precision not in MIXED_PRECISION:
        raise UserInputError(
            f"mixed precision {mixed_precision!r} is unknown; choose "
            f"{', '.join(MIXED_PRECISION)}")
    return "float32" if mixed_precision == "off" else f"mixed_{mixed_precision}"


def _build(config, seed, class_names, latent_classes):
    """The networks and the model of a resolved `ModelConfig`."""
    from keras_genart import networks
    from keras_genart.models.dcgan import DCGAN
    from keras_genart.models.vae import VAE
    from keras_genart.models.wgan_gp import WGANGP

    widths = dict(image_size=config.image_size, base_width=config.base_width,
                  max_width=config.max_width, blocks_per_stage=config.blocks_per_stage)
    common = dict(augmentation=config.augment, seed=seed)
    gray = config.colors == "gray"
    classes = len(class_names) if class_names else None
    shares = None
    parts = dict(ema=config.ema, r1_weight=config.r1, r1_interval=config.r1_interval,
                 shared_fakes=config.shared_fakes, class_names=class_names)
    if latent_classes is not None:
        parts["latent_class_names"] = latent_classes[0]
        shares, classes = latent_classes[1], len(latent_classes[1])
    if config.type == "vae":
        return VAE(networks.build_encoder(latent_dim=config.latent_dim, num_classes=classes,
                                          **widths),
                   networks.build_decoder(latent_dim=config.latent_dim,
                                          upsampling=config.upsampling, num_classes=classes,
                                          gray=gray, **widths),
                   beta=config.beta, class_names=class_names, **common)
    generator = networks.build_generator(latent_dim=config.latent_dim,
                                         upsampling=config.upsampling, num_classes=classes,
                                         latent_class_shares=shares, gray=gray, **widths)
    judge = dict(normalization=config.d_normalization, minibatch_std=config.minibatch_std,
                 final_size=config.d_final_size, num_classes=classes, **widths)
    if config.type == "dcgan":
        discriminator = networks.build_discriminator(channels=3 * config.packing, **judge)
        return DCGAN(generator, discriminator, loss=config.loss, packing=config.packing,
                     **common, **parts)
    critic = networks.build_discriminator(name="critic", **judge)
    return WGANGP(generator, critic, n_critic=config.n_critic, gp_weight=config.gp_weight,
                  **common, **parts)
