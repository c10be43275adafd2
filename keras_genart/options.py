"""Option lists that the CLI, the run config and the builders share.

Imports nothing heavy, so that `genart --help` does not load Keras.
"""

from keras_genart.errors import UserInputError

# Adversarial losses (keras_genart.losses); the CLI's --loss offers those that need no
# regulariser of the discriminator.
ADVERSARIAL_LOSSES = ("non_saturating", "minimax", "hinge", "least_squares", "wasserstein")
DCGAN_LOSSES = ADVERSARIAL_LOSSES[:4]
# Normalization of discriminators, encoders (and generators: batch, layer, none).
NORMALIZATIONS = ("batch", "layer", "spectral", "none")
# How generators double the side: stride-2 transposed convolutions (DCGAN), or a
# nearest-neighbour resize and a 3x3 convolution, which has no checkerboard artifacts
# (Odena et al. 2016, https://distill.pub/2016/deconv-checkerboard/).
UPSAMPLINGS = ("transpose", "resize")
# What pictures a generator makes: colour, or gray (one channel copied into red, green
# and blue, so that a generator of gray data cannot tint them).
COLORS = ("rgb", "gray")
# Picture sides the networks are built for: powers of two from 16 to 128.
IMAGE_SIZES = (16, 32, 64, 128)


def check_image_size(image_size):
    """Raises unless image_size is one of `IMAGE_SIZES` (a power of two in [16, 128]).

    Args:
        image_size: int. The side of the pictures, in pixels.

    Returns:
        int: `image_size`.
    """
    if image_size not in IMAGE_SIZES:
        raise UserInputError(
            f"image size {image_size!r} is not supported; choose one of "
            f"{', '.join(map(str, IMAGE_SIZES))} (powers of two from 16 to 128)"
        )
    return int(image_size)


def check_final_size(image_size, final_size):
    """Refuses a last feature-map side that is not a power of two in [4, image_size / 2]."""
    final_size = int(final_size)
    if (final_size < 4 or final_size > image_size // 2
            or final_size & (final_size - 1)):
        sides = [4 * 2 ** i for i in range(max(0, image_size.bit_length() - 3))]
        raise ValueError(
            f"final size {final_size}: the discriminator's last feature map for "
            f"{image_size}px pictures may be {', '.join(map(str, sides))} pixels wide")
    return final_size


# Training algorithms (keras_genart.models) and the precisions they compute in.
MODEL_TYPES = ("dcgan", "wgan-gp", "vae")
MIXED_PRECISION = ("off", "bfloat16", "float16")

# Metrics of `genart evaluate` and the run's evaluation (keras_genart.metrics).
METRICS = ("fid", "kid", "pr", "dc", "novelty", "classes")

# What `evaluate` computes when not told: every metric on features; `classes`
# too when a classifier is given.
FEATURE_METRICS = METRICS[:5]

# A score that can pick the best checkpoint -> (the metric that computes it, lower is better?)
SCORES = {"fid": ("fid", True), "kid": ("kid", True), "precision": ("pr", False),
          "recall": ("pr", False), "density": ("dc", False), "coverage": ("dc", False),
          "class_tv": ("classes", True)}


def check_metrics(names):
    """The metric names without repeats, or an error naming the unknown ones."""
    names = list(dict.fromkeys(names))
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise UserInputError(
            f"unknown metric {', '.join(unknown) or '(none)'}; choose from {', '.join(METRICS)}")
    return names
