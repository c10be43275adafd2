"""The one recipe that turns a seed into latent vectors.

Every runtime (Keras `generate`, `genart sample`, exported models, the server)
draws latents here, so that the same seed gives the same picture everywhere.
Pure NumPy: no TensorFlow import.
"""

import math

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


TRUNCATION_RECIPE = (
    "threshold t = the (1 + psi) / 2 quantile of the standard normal; draw the latents of "
    "the seed; then, row by row, redraw every value of the row whose |z| > t with "
    "numpy.random.default_rng([seed, 1]).standard_normal(count) until none is left")


def truncation_threshold(psi):
    """The |z| beyond which a truncated latent is redrawn: the (1 + psi) / 2 quantile.

    `psi` is the share of the standard normal that each latent value keeps: 1
    keeps all of it (no truncation, an infinite threshold), 0.7 the central 70 %
    (|z| <= 1.036), smaller values pictures closer to the average one with
    less variety (the truncation trick of Brock et al. 2019, BigGAN).
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
    """`psi` as a float in (0, 1], or a ValueError that says what it must be."""
    try:
        value = float(psi)
    except (TypeError, ValueError):
        raise ValueError(f"truncation must be a number in (0, 1], got {psi!r}") from None
    if not 0.0 < value <= 1.0:
        raise ValueError(f"truncation must be in (0, 1] (1: none; 0.7: the central 70 % of "
                         f"each latent value's distribution), got {psi!r}")
    return value


def sample_truncated_latents(n, latent_dim, seed=0, truncation=None):
    """`sample_latents`, with every value beyond the truncation threshold redrawn.

    `truncation` None or 1 gives exactly `sample_latents(n, latent_dim, seed)`;
    otherwise only the values beyond `truncation_threshold(truncation)` change
    (see `TRUNCATION_RECIPE`), so a truncated picture stays close to the
    untruncated one of its seed, and the first k latents do not depend on `n`.
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
        while beyond.any():
            row[beyond] = redraw.standard_normal(int(beyond.sum()))
            beyond = np.abs(row) > threshold
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


def label_from_text(text, class_names):
    """A class as typed (`--class`, `:sample?class=`): a class name, else an index if the
    text is a whole number, else the text (which `resolve_labels` refuses by name)."""
    if text is None or not class_names or text in class_names:
        return text
    return int(text) if text.lstrip("-").isdigit() else text


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
