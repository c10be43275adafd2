"""The one recipe that turns a seed into latent vectors.

Every runtime (Keras `generate`, `genart sample`, exported models, the server)
draws latents here, so that the same seed gives the same picture everywhere.
Pure NumPy: no TensorFlow import.
"""

import math
import re

import numpy as np

# The recipe in words, written into exported metadata and PNG provenance.
LATENT_RECIPE = "numpy.random.default_rng(seed).standard_normal((n, latent_dim)).astype(float32)"


def sample_latents(n, latent_dim, seed=0):
    """Draws `n` standard-normal latent vectors for a seed.

    The recipe is `numpy.random.default_rng(seed).standard_normal((n,
    latent_dim))` cast to float32; re-implement exactly that to match
    keras_genart's pictures from another language.

    Args:
        n: int. Number of vectors, at least 1.
        latent_dim: int. Size of each vector.
        seed: int. Non-negative seed. Defaults to 0.

    Returns:
        float32 NumPy array of shape `(n, latent_dim)`.
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if seed is None or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    return rng.standard_normal((n, int(latent_dim))).astype(np.float32)


# The smallest truncation taken: at psi a value is kept with probability psi, so the
# redraws cost ~1 / psi draws a value (64 x 128 latents took 3.6 s at 1e-3, 37.6 s at
# 1e-4, days at 1e-9); at 0.05 the largest request of the server takes ~0.1 s. The
# studio's slider stops here too.
MIN_TRUNCATION = 0.05

# Redraw rounds per row before the values still beyond the threshold are clipped to it.
# At the floor a value survives a round with probability 0.95, 1000 rounds with 5e-23:
# no seed is expected ever to reach the cap, which only bounds the loop's work.
MAX_REDRAW_ROUNDS = 1000

TRUNCATION_RECIPE = (
    "threshold t = the (1 + psi) / 2 quantile of the standard normal; draw the latents of "
    "the seed; then, row by row, redraw every value of the row whose |z| > t with "
    "numpy.random.default_rng([seed, 1]).standard_normal(count) until none is left, "
    f"at most {MAX_REDRAW_ROUNDS} rounds a row (values still beyond are clipped to +-t); "
    f"psi in [{MIN_TRUNCATION:g}, 1]")


def truncation_threshold(psi):
    """The |z| beyond which a truncated latent is redrawn: the (1 + psi) / 2 quantile.

    `psi` is the share of the standard normal that each latent value keeps: 1
    keeps all of it (no truncation, an infinite threshold), 0.7 the central 70 %
    (|z| <= 1.036), smaller values down to `MIN_TRUNCATION` pictures closer
    to the average one with less variety (the truncation trick of Brock et
    al. 2019, BigGAN).
    """
    psi = check_truncation(psi)
    if psi == 1.0:
        return math.inf
    # Bisection on the normal CDF, in float64: the same threshold in every runtime
    # to ~1e-15 (the metadata of exports also writes it out).
    low, high = 0.0, 40.0
    for _ in range(200):
        middle = 0.5 * (low + high)
        if math.erf(middle / math.sqrt(2.0)) < psi:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def check_truncation(psi):
    """`psi` as a float in [`MIN_TRUNCATION`, 1], or a ValueError that says what it must be."""
    accepted = f"[{MIN_TRUNCATION:g}, 1]"
    try:
        value = float(psi)
    except (TypeError, ValueError):
        raise ValueError(f"truncation must be in {accepted}, a number, got {psi!r}") from None
    if not MIN_TRUNCATION <= value <= 1.0:
        raise ValueError(f"truncation must be in {accepted} (1: none; 0.7: the central 70 % "
                         f"of each latent value's distribution; below {MIN_TRUNCATION:g} "
                         f"the redraws cost too much work), got {psi!r}")
    return value


def sample_truncated_latents(n, latent_dim, seed=0, truncation=None):
    """`sample_latents`, with every value beyond the truncation threshold redrawn.

    `truncation` None or 1 gives exactly `sample_latents(n, latent_dim, seed)`;
    otherwise only the values beyond `truncation_threshold(truncation)` change
    (see `TRUNCATION_RECIPE`), so a truncated picture stays close to the
    untruncated one of its seed, and the first k latents do not depend on `n`.
    The work is bounded: `truncation` is at least `MIN_TRUNCATION` and each
    row gets at most `MAX_REDRAW_ROUNDS` rounds of redraws.
    """
    if truncation is None or check_truncation(truncation) == 1.0:
        return sample_latents(n, latent_dim, seed)
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if seed is None or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    threshold = truncation_threshold(truncation)
    z = np.random.default_rng(int(seed)).standard_normal((n, int(latent_dim)))
    # Redraws from a stream of their own, row by row: the first k pictures of a seed
    # are the same whatever n is, as without truncation.
    redraw = np.random.default_rng([int(seed), 1])
    for row in z:
        beyond = np.abs(row) > threshold
        for _ in range(MAX_REDRAW_ROUNDS):
            if not beyond.any():
                break
            row[beyond] = redraw.standard_normal(int(beyond.sum()))
            beyond = np.abs(row) > threshold
        np.clip(row, -threshold, threshold, out=row)  # a no-op unless the cap was reached
    return z.astype(np.float32)


VARIATION_RECIPE = (
    "encode the picture to its mean latent m; variation i of n is "
    "m + spread * numpy.random.default_rng(seed).standard_normal((n, latent_dim))[i], "
    "in float32")


def check_spread(spread):
    """`spread` as a float >= 0, or a ValueError that says what it must be."""
    try:
        value = float(spread)
    except (TypeError, ValueError):
        raise ValueError(f"spread must be a number >= 0, got {spread!r}") from None
    if not value >= 0.0 or math.isinf(value):
        raise ValueError(f"spread must be a finite number >= 0 (0: the reconstruction "
                         f"itself; 1: as far as the prior's own spread), got {spread!r}")
    return value


def variation_latents(mean, n, seed=0, spread=0.5):
    """`n` latents around an encoded picture's mean (`VARIATION_RECIPE`).

    `mean + spread * sample_latents(n, latent_dim, seed)`: `spread` is in
    units of the prior N(0, I), so 0 gives `n` reconstructions and 1 strays
    as far as a fresh sample's distance from the average; the same seed gives
    the same variations in every runtime.

    Args:
        mean: array `(latent_dim,)` (or `(1, latent_dim)`). The encoder's mean.
        n: int. Number of variations.
        seed: int. Defaults to 0.
        spread: float >= 0. Defaults to 0.5.

    Returns:
        float32 array `(n, latent_dim)`.
    """
    mean = np.asarray(mean, np.float32).reshape(-1)
    noise = sample_latents(n, mean.shape[0], seed)
    return (mean[None, :] + np.float32(check_spread(spread)) * noise).astype(np.float32)


def slerp(a, b, steps):
    """`steps` latents on the spherical path from `a` to `b`, both ends included.

    `sin((1 - t) w) / sin(w) a + sin(t w) / sin(w) b` with `w` the angle
    between them (White 2016, "Sampling generative networks"): the latents in
    between keep the length typical of Gaussian latents, where a straight line
    would pass through short, atypical ones. (Anti)parallel latents get the
    straight line.

    Args:
        a, b: float arrays `(latent_dim,)`.
        steps: int. At least 2.

    Returns:
        float32 array `(steps, latent_dim)`; the first row is `a`, the last `b`.
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"slerp needs two latent vectors of one size, got shapes {a.shape} "
                         f"and {b.shape}")
    if int(steps) < 2:
        raise ValueError(f"steps must be at least 2 (both ends), got {steps}")
    t = np.linspace(0.0, 1.0, int(steps))[:, None]
    cos = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        out = (1.0 - t) * a + t * b
    else:
        out = (np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
    out[0], out[-1] = a, b  # the ends exactly, not to rounding
    return out.astype(np.float32)


def class_labels(n, num_classes):
    """The labels a conditional model uses when none are asked for: classes in turn.

    `[0, 1, ..., num_classes - 1, 0, 1, ...]` (n of them): every class equally
    often, the same in every runtime.
    """
    return (np.arange(int(n)) % int(num_classes)).astype(np.int32)


def class_walk(start, end, steps, num_classes):
    """Class weights `(steps, num_classes)` going linearly from class `start` to `end`.

    Row i is `(1 - t) * onehot(start) + t * onehot(end)` with `t = i / (steps - 1)`:
    the first row is exactly `start`, the last exactly `end` (for
    `generate_from_latents(class_weights=...)`).
    """
    steps = int(steps)
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    t = np.linspace(0.0, 1.0, steps, dtype=np.float64)[:, None]
    eye = np.eye(int(num_classes), dtype=np.float64)
    return ((1.0 - t) * eye[int(start)] + t * eye[int(end)]).astype(np.float32)


# A class index as typed: ASCII digits only (`str.isdigit` and `int` take superscripts
# and other scripts' digits too: "²" passed one and failed the other, "１" was class 1),
# at most 18 of them (within int64), one optional minus.
CLASS_INDEX = re.compile(r"-?[0-9]{1,18}")


def label_from_text(text, class_names):
    """A class as typed (`--class`, `:sample?class=`): a class name, else an index if the
    text is one (`CLASS_INDEX`), else the text, which `resolve_labels` refuses by name.

    Args:
        text: str or None. What the user typed.
        class_names: list of str. The classes the model can be asked for, or empty.
    """
    if text is None or not class_names or text in class_names:
        return text
    return int(text) if CLASS_INDEX.fullmatch(text) else text


def picture_labels(labels, n, class_names):
    """`resolve_labels` for pictures to encode (a VAE's): a conditional VAE must be told
    their class; None is not "the classes in turn" here but a ValueError."""
    if class_names and labels is None:
        raise ValueError(f"this VAE is conditional: say which class the picture is (one of "
                         f"{', '.join(class_names)})")
    return resolve_labels(labels, n, class_names)


def resolve_labels(labels, n, class_names):
    """int32 labels `(n,)` of a conditional model, from what a user asks for.

    `labels` is None (the classes in turn: `class_labels`), one class (an index
    or a name of `class_names`) for all `n` pictures, or a list of `n` of them.
    An unconditional model (`class_names` empty or None) gives None, and takes
    no labels. Raises ValueError for unknown names, indices out of range and
    lists of another length.
    """
    if not class_names:
        if labels is not None:
            raise ValueError("this model is not conditional: it takes no labels (a conditional "
                             "one is trained on labelled data with --conditional)")
        return None
    if labels is None:
        return class_labels(n, len(class_names))
    if isinstance(labels, str) or np.ndim(labels) == 0:  # one class for every picture
        labels = [labels] * int(n)
    labels = list(np.asarray(labels, dtype=object).ravel())
    if len(labels) != int(n):
        raise ValueError(f"{len(labels)} labels for {n} pictures: give one, or one per picture")
    out = []
    for label in labels:
        if isinstance(label, str):
            if label not in class_names:
                raise ValueError(f"unknown class {label!r}; the classes are "
                                 f"{', '.join(class_names)}")
            label = class_names.index(label)
        if (isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer))
                or not 0 <= label < len(class_names)):
            raise ValueError(f"label {label!r} is not a class: give a name of "
                             f"{', '.join(class_names)} or an index from 0 to "
                             f"{len(class_names) - 1}")
        out.append(int(label))
    return np.asarray(out, np.int32)


# Latent-coded classes: a model trained on labelled data whose generator takes z
# only (`AdversarialModel(latent_class_names=...)`) reads a latent's class from
# the angle of its first two values. The angle of a standard-normal pair is
# uniform and does not depend on its length, so every class comes as often as
# its share; truncation, which redraws values beyond a square, nearly keeps the
# shares (psi 0.7: 0.187 to 0.208 for five classes of 0.2).
LATENT_CLASS_RECIPE = (
    "u = (atan2(z[1], z[0]) + pi) / (2 pi) in [0, 1]; the class is how many of the "
    "running sums of the class shares (the first K - 1 of them) are <= u")

# The share of each class's arc left free at either end when a latent is moved into
# it, so that float32 rounding cannot move it across a boundary.
ARC_MARGIN = 1e-3


def check_class_shares(shares):
    """float64 shares of at least two classes, positive and finite, scaled to sum to 1."""
    shares = np.asarray(shares, dtype=np.float64).ravel()
    if len(shares) < 2 or not np.isfinite(shares).all() or shares.min() <= 0:
        raise ValueError(f"class shares must be two or more positive numbers, got "
                         f"{shares.tolist()}")
    return shares / shares.sum()


def class_boundaries(shares):
    """The K - 1 inner boundaries of the classes' arcs on [0, 1]: running sums of the shares."""
    return np.cumsum(check_class_shares(shares))[:-1]


def _angle_fraction(z):
    z = np.asarray(z, np.float32)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"latents that code classes must have shape (n, 2 or more), got "
                         f"{z.shape}")
    u = (np.arctan2(z[:, 1].astype(np.float64), z[:, 0].astype(np.float64)) + math.pi) \
        / (2 * math.pi)
    return z, np.clip(u, 0.0, 1.0)


def latent_classes(z, shares):
    """The class each latent `(n, d)` codes (`LATENT_CLASS_RECIPE`): int32 `(n,)`."""
    _, u = _angle_fraction(z)
    return np.searchsorted(class_boundaries(shares), u, side="right").astype(np.int32)


def latents_in_classes(z, labels, shares):
    """Latents moved into their classes: what a latent-coded model draws for `labels`.

    The pair `(z[0], z[1])` of each latent keeps its length and turns into its
    class's arc, at the place in the arc where its angle was on the whole
    circle (less `ARC_MARGIN` at either end); the other values stay. A
    standard-normal latent moved this way is a standard-normal latent of that
    class, so pictures drawn for a class look like the model's pictures of it.

    Args:
        z: float array `(n, d)`, `d >= 2`.
        labels: int array `(n,)` of class indices.
        shares: the classes' shares (`check_class_shares`).

    Returns:
        float32 array `(n, d)`.
    """
    z, u = _angle_fraction(z)
    shares = check_class_shares(shares)
    labels = np.asarray(labels).astype(np.int64).ravel()
    if len(labels) != len(z) or labels.min(initial=0) < 0 or labels.max(initial=0) >= len(shares):
        raise ValueError(f"{len(labels)} labels in 0..{len(shares) - 1} for {len(z)} latents "
                         f"expected")
    starts = np.concatenate([[0.0], np.cumsum(shares)[:-1]])
    place = starts[labels] + (ARC_MARGIN + (1 - 2 * ARC_MARGIN) * np.minimum(u, 1.0)) \
        * shares[labels]
    theta = 2 * math.pi * place - math.pi
    radius = np.hypot(z[:, 0].astype(np.float64), z[:, 1].astype(np.float64))
    out = z.copy()
    out[:, 0] = radius * np.cos(theta)
    out[:, 1] = radius * np.sin(theta)
    return out.astype(np.float32)
