"""Builds a model of a type from hyperparameters: what the CLI and config use."""

from keras_genart import latents
from keras_genart.data.sources import check_image_size
from keras_genart.errors import UserInputError

from keras_genart.models import MIXED_PRECISION, MODEL_TYPES


def build_model(model_type, image_size=32, latent_dim=128, base_width=64,
                max_width=512, blocks_per_stage=0, loss="non_saturating",
                n_critic=5, gp_weight=10.0, beta=1.0, augmentation=None, seed=None,
                d_normalization=None, minibatch_std=None, mixed_precision="off", packing=1,
                ema=None, r1_weight=0.0, r1_interval=16, upsampling=None,
                shared_fakes=False, d_final_size=None, class_names=None,
                latent_class_names=None, latent_class_shares=None, gray=False):
    """Builds an untrained model with its networks.

    Args:
        model_type: str. `"dcgan"`, `"wgan-gp"` or `"vae"`.
        image_size: int. 16, 32, 64 or 128. Defaults to 32.
        latent_dim: int. Defaults to 128.
        base_width: int. Filters at the highest resolution. Defaults to 64.
        max_width: int. Cap on filters. Defaults to 512.
        blocks_per_stage: int. Extra conv blocks per resolution. Defaults to 0.
        loss: str. DCGAN's adversarial loss. Defaults to `"non_saturating"`.
        n_critic: int. WGAN-GP critic steps per generator step. Defaults to 5.
        gp_weight: float. WGAN-GP penalty weight. Defaults to 10.
        beta: float. VAE KL weight. Defaults to 1.
        augmentation: list of str. Defaults to None.
        seed: int. Seed of the weight initialisation (through
            `keras.utils.set_random_seed`, which also seeds Python's and
            NumPy's global generators) and of the training-time randomness.
            Defaults to None (unseeded).
        d_normalization: str. Normalization of the discriminator (critic):
            `"batch"`, `"layer"`, `"spectral"` or `"none"`. Defaults to
            `default_d_normalization`: for DCGAN `"none"` (unconditional)
            or `"spectral"` (conditional: its projection head needs it),
            and `"layer"` for WGAN-GP (no batch norm there).
        minibatch_std: bool. A minibatch standard-deviation channel in the
            discriminator (more varied samples). Defaults to True for DCGAN,
            False for WGAN-GP (which refuses it: it mixes samples, and the
            gradient penalty is per sample).
        mixed_precision: str. `"off"`, `"bfloat16"` or `"float16"`: the
            networks compute in that type with float32 weights; their
            outputs (images, logits) stay float32, and float16 training
            scales each optimizer's loss. Defaults to `"off"`.
        packing: int. DCGAN's discriminator judges this many pictures at
            once (PacGAN; fights mode collapse). Defaults to 1.
        ema: float. GANs: decay of the generator's moving average, which
            makes the pictures (`AdversarialModel`); None for none. Defaults
            to None.
        r1_weight: float. GANs: gamma of the R1 penalty; 0 for none.
            Defaults to 0.
        r1_interval: int. Discriminator updates between R1 computations.
            Defaults to 16.
        shared_fakes: bool. GANs: the generator's update reuses the last
            discriminator update's fakes and forward pass (cheaper steps;
            `AdversarialModel`). Defaults to False.
        upsampling: str. The generator's (decoder's) doubling: `"transpose"`
            (stride-2 transposed convolutions) or `"resize"` (nearest
            doubling and a 3x3 convolution; no checkerboard artifacts).
            Defaults to `default_upsampling`: `"resize"` for the conditional
            DCGAN, `"transpose"` otherwise.
        d_final_size: int. GANs: side of the discriminator's (critic's) last
            feature map, a power of two from 4 to image_size / 2 (8 leaves
            out its widest stage: `networks.build_discriminator`). Defaults
            to 8 for DCGAN (about 1.5x the steps per second on a CPU, and
            lower FID and KID at equal wall time: README, "Better pictures")
            and 4 for WGAN-GP.
        class_names: list of str. A conditional model of these classes: GANs
            get conditional batch normalization in the generator and a
            projection discriminator (`AdversarialModel`), the VAE a label
            embedding in the encoder and conditional batch normalization in
            the decoder (`VAE`). Defaults to None (unconditional).
        latent_class_names: list of str. GANs: learn these classes of the
            data as a conditional GAN does, with a generator that takes `z`
            only and reads the class from it (latent-coded classes,
            `AdversarialModel`): the exported generator stays unconditional.
            Not with `class_names` or packing. Defaults to None.
        latent_class_shares: list of float. The classes' shares in the data
            (their shares of the latents). Defaults to equal shares.
        gray: bool. The generator (the VAE's decoder) makes gray pictures:
            one channel, copied into red, green and blue, so that it cannot
            tint what it draws (`networks.build_generator`). For data whose
            pictures are all gray (`ImageData.grayscale`). Defaults to False.

    Returns:
        A `DCGAN`, `WGANGP` or `VAE`.

    Example:
    >>> model = build_model("dcgan", image_size=16, latent_dim=8, base_width=8)
    """
    import keras

    from keras_genart import networks

    if model_type not in MODEL_TYPES:
        raise UserInputError(
            f"unknown model type {model_type!r}; choose from {', '.join(MODEL_TYPES)}"
        )
    check_image_size(image_size)
    for name, value in (("latent_dim", latent_dim), ("base_width", base_width),
                        ("max_width", max_width)):
        if int(value) < 1:
            raise UserInputError(f"{name} must be a positive integer, got {value}")
    if d_normalization is not None and d_normalization not in networks.NORMALIZATIONS:
        raise UserInputError(
            f"discriminator normalization {d_normalization!r} is unknown; choose "
            f"{', '.join(networks.NORMALIZATIONS)}")
    if model_type == "wgan-gp" and d_normalization == "batch":
        raise UserInputError(
            "WGAN-GP's critic cannot use batch normalization (the gradient penalty is "
            "per sample); choose layer, spectral or none")
    if model_type == "wgan-gp" and minibatch_std:
        raise UserInputError(
            "WGAN-GP's critic cannot use a minibatch standard-deviation channel (it mixes "
            "samples, and the gradient penalty is per sample); leave --minibatch-std off")
    if int(packing) < 1 or (model_type != "dcgan" and int(packing) != 1):
        raise UserInputError(
            f"packing {packing}: DCGAN packs 1 or more pictures per discriminator input; "
            f"{model_type} does not pack")
    if model_type == "vae" and (ema is not None or float(r1_weight) or shared_fakes):
        raise UserInputError("ema, r1 and shared fakes are parts of the adversarial step; "
                             "the VAE has none of them")
    if ema is not None and not 0.0 < float(ema) < 1.0:
        raise UserInputError(f"ema {ema}: a decay in (0, 1), such as 0.999")
    if float(r1_weight) < 0 or int(r1_interval) < 1:
        raise UserInputError(f"r1 {r1_weight} / r1 interval {r1_interval}: the weight must "
                             "be 0 (off) or more, the interval at least 1")
    if upsampling is None:
        upsampling = default_upsampling(model_type, len(class_names or latent_class_names or []))
    if upsampling not in networks.UPSAMPLINGS:
        raise UserInputError(f"upsampling {upsampling!r} is unknown; choose "
                             f"{', '.join(networks.UPSAMPLINGS)}")
    if class_names is not None and not list(class_names):
        raise UserInputError("a conditional model needs labelled data (class sub-folders, a "
                             "TFDS set with labels, or the builtin: styles); this data has "
                             "no classes")
    if class_names is not None and int(packing) != 1:
        raise UserInputError("a conditional GAN does not pack (--packing 1): the pictures "
                             "judged together would have different labels")
    latent_classes = _check_latent_classes(model_type, latent_class_names,
                                           latent_class_shares, class_names, packing,
                                           latent_dim)
    if d_final_size is None:
        d_final_size = DEFAULT_D_FINAL_SIZE.get(model_type, 4)
    if model_type != "vae":
        try:
            networks.check_final_size(image_size, d_final_size)
        except ValueError as error:
            raise UserInputError(str(error)) from None
    policy = dtype_policy(mixed_precision)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    if seed is not None:
        keras.utils.set_random_seed(int(seed))  # the same seed, the same initial weights
    try:
        return _build(model_type, image_size, latent_dim, base_width, max_width,
                      blocks_per_stage, loss, n_critic, gp_weight, beta, augmentation,
                      seed, d_normalization, minibatch_std, int(packing),
                      dict(ema=ema, r1_weight=float(r1_weight), r1_interval=int(r1_interval),
                           shared_fakes=bool(shared_fakes)),
                      upsampling, int(d_final_size),
                      None if class_names is None else [str(c) for c in class_names],
                      latent_classes, bool(gray))
    finally:
        keras.config.set_dtype_policy(previous)


# The side of the discriminator's last feature map per model type (measured with
# benchmarks/quality.py for DCGAN; WGAN-GP keeps the DCGAN paper's 4).
DEFAULT_D_FINAL_SIZE = {"dcgan": 8, "wgan-gp": 4}


def default_d_normalization(model_type, num_classes=None):
    """The discriminator's normalization when none is asked for.

    Measured with benchmarks/quality.py at equal wall time (README, "Better
    pictures per CPU-minute"): the unconditional DCGAN without normalization
    scored FID 9.7 and 11.3 (two seeds) on builtin:abstract against 25.0 with
    spectral normalization, and 22.5 for the plain DCGAN; the conditional
    DCGAN needs spectral normalization (FID 11.8 with it, 25.3 without, and no
    op-art). WGAN-GP's critic takes layer normalization (batch norm would mix
    the samples of its per-sample penalty).
    """
    if model_type == "wgan-gp":
        return "layer"
    return "spectral" if num_classes else "none"


def default_upsampling(model_type, num_classes=None):
    """The generator's upsampling when none is asked for.

    Measured with benchmarks/quality.py and benchmarks/conditional.py at
    equal wall time on builtin:abstract (README, "Better pictures per
    CPU-minute"): the conditional DCGAN with resize-convolutions scored FID
    4.2 against 14.2 with transposed convolutions, and drew op-art when asked
    for it (0.79 and 0.65 of the pictures in two seeds against 0.46); the
    unconditional DCGAN was level either way (11.4 against 11.8), so it keeps
    the cheaper transposed convolutions (about 1.2x the steps). Other models
    were not measured and keep transposed convolutions.
    """
    return "resize" if model_type == "dcgan" and num_classes else "transpose"


def _check_latent_classes(model_type, names, shares, class_names, packing, latent_dim):
    """`(names, shares)` of latent-coded classes, or None; UserInputError for what cannot be."""
    if names is None:
        if shares is not None:
            raise UserInputError("latent class shares without latent class names")
        return None
    names = [str(name) for name in names]
    if model_type == "vae":
        raise UserInputError("latent-coded classes are for GANs; a VAE learns classes with "
                             "--conditional")
    if class_names is not None:
        raise UserInputError("--conditional and --latent-classes are two ways to learn the "
                             "classes; choose one")
    if len(names) < 2 or len(set(names)) != len(names):
        raise UserInputError(f"latent-coded classes need labelled data of two or more "
                             f"classes (class sub-folders, a TFDS set with labels, or the "
                             f"builtin: styles); this data has {len(names)}")
    if int(packing) != 1:
        raise UserInputError("latent-coded classes do not pack (--packing 1): the pictures "
                             "judged together would have different labels")
    if int(latent_dim) < 2:
        raise UserInputError(f"latent-coded classes need --latent-dim 2 or more, got "
                             f"{latent_dim}")
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


def _build(model_type, image_size, latent_dim, base_width, max_width, blocks_per_stage,
           loss, n_critic, gp_weight, beta, augmentation, seed, d_normalization,
           minibatch_std, packing, parts, upsampling, d_final_size, class_names,
           latent_classes=None, gray=False):
    from keras_genart import networks
    from keras_genart.models.dcgan import DCGAN
    from keras_genart.models.vae import VAE
    from keras_genart.models.wgan_gp import WGANGP

    widths = dict(image_size=image_size, base_width=base_width, max_width=max_width,
                  blocks_per_stage=blocks_per_stage)
    common = dict(augmentation=augmentation, seed=seed)
    classes = len(class_names) if class_names else None
    shares = None
    if latent_classes is not None:
        parts = dict(parts, latent_class_names=latent_classes[0])
        shares, classes = latent_classes[1], len(latent_classes[1])
    if model_type == "vae":
        return VAE(networks.build_encoder(latent_dim=latent_dim, num_classes=classes, **widths),
                   networks.build_decoder(latent_dim=latent_dim, upsampling=upsampling,
                                          num_classes=classes, gray=gray, **widths),
                   beta=beta, class_names=class_names, **common)
    generator = networks.build_generator(latent_dim=latent_dim, upsampling=upsampling,
                                         num_classes=classes, latent_class_shares=shares,
                                         gray=gray, **widths)
    parts = dict(parts, class_names=class_names)
    if model_type == "dcgan":
        discriminator = networks.build_discriminator(
            normalization=d_normalization or default_d_normalization(model_type, classes),
            channels=3 * packing,
            minibatch_std=True if minibatch_std is None else minibatch_std,
            final_size=d_final_size, num_classes=classes, **widths)
        return DCGAN(generator, discriminator, loss=loss, packing=packing, **common, **parts)
    critic = networks.build_discriminator(normalization=d_normalization
                                          or default_d_normalization(model_type, classes),
                                          minibatch_std=bool(minibatch_std), name="critic",
                                          final_size=d_final_size, num_classes=classes,
                                          **widths)
    return WGANGP(generator, critic, n_critic=n_critic, gp_weight=gp_weight, **common, **parts)
