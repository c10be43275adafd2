"""Novelty and memorisation: is a generated picture a copy of a training picture?

For every generated vector: its nearest and second-nearest training vectors.
A generated vector is flagged as a near-copy when its nearest training vector
is much nearer than the second (`d1 / d2 < ratio`, the nearest-neighbour
ratio test; 1/3 by default).

Authenticity (Alaa et al. 2022, https://arxiv.org/abs/2102.08921) is reported
beside it: a generated vector is authentic when it lies farther from its
nearest training vector than that training vector lies from any other. It is
a softer signal: a fresh sample from the training distribution itself is
authentic only about half of the time, while copies are never authentic.
"""

import numpy as np

from keras_genart.errors import UserInputError
from keras_genart.metrics.neighbours import check_features, kth_neighbour_radii, nearest

COPY_RATIO = 1.0 / 3.0


def memorization(generated, train, ratio=COPY_RATIO, train_radii=None):
    """Nearest training neighbours of generated vectors, and which look copied.

    Args:
        generated: array `(n, d)`. Features of generated pictures.
        train: array `(m, d)`, m >= 2. Features of the training pictures.
        ratio: float. The ratio-test threshold. Defaults to 1/3.
        train_radii: array `(m,)`. Each training vector's distance to its
            nearest other one, when the caller has it already. Defaults to
            None (computed here).

    Returns:
        dict: `nearest_index`, `nearest_distance`, `second_distance`,
        `distance_ratio` (arrays, one entry per generated vector), `authentic`
        (bool array), `copy` (bool array: the ratio test), `copy_share`,
        `authenticity` (share authentic) and
        `distance_quantiles` (0, 5, 25, 50, 75, 95, 100 % of nearest distances).
    """
    generated, train = check_features(generated, "generated"), check_features(train, "train")
    if len(train) < 2:
        raise UserInputError("novelty needs at least 2 training pictures")
    if not 0 < ratio < 1:
        raise UserInputError(f"the copy ratio must be in (0, 1), got {ratio}")
    distances, indices = nearest(generated, train, k=2)
    d1, d2 = distances[:, 0], distances[:, 1]
    distance_ratio = d1 / np.maximum(d2, 1e-12)
    if train_radii is None:
        train_radii = kth_neighbour_radii(train, 1)
    own_radius = train_radii[indices[:, 0]]
    authentic = d1 > own_radius
    copy = distance_ratio < ratio
    quantiles = (0, 5, 25, 50, 75, 95, 100)
    return {
        "nearest_index": indices[:, 0],
        "nearest_distance": d1,
        "second_distance": d2,
        "distance_ratio": distance_ratio,
        "authentic": authentic,
        "copy": copy,
        "copy_share": float(copy.mean()),
        "authenticity": float(authentic.mean()),
        "distance_quantiles": {f"{q}%": float(v)
                               for q, v in zip(quantiles, np.percentile(d1, quantiles))},
    }


def most_copied(result, n=8):
    """Indices of the `n` generated vectors most like a copy (lowest distance ratio first)."""
    order = np.lexsort((result["nearest_distance"], result["distance_ratio"]))
    return order[:n]


def copy_pairs_image(generated_images, train_images, result, n=8, padding=2):
    """A picture of the most copy-like samples (left) beside their nearest training image.

    Args:
        generated_images: array `(N, h, w, c)`, uint8 or floats in [0, 1].
        train_images: array `(M, h, w, c)`, same kind.
        result: dict from `memorization` on those pictures' features.
        n: int. Pairs shown. Defaults to 8.

    Returns:
        uint8 array: one pair a row, each row labelled by a red (flagged) or
        grey (not flagged) bar on its left.
    """
    from keras_genart import imaging

    def as_uint8(image):
        image = np.asarray(image)
        return image if image.dtype == np.uint8 else imaging.to_uint8(image)

    chosen = most_copied(result, n)
    rows = [np.stack([as_uint8(generated_images[i]),
                      as_uint8(train_images[result["nearest_index"][i]])]) for i in chosen]
    grid = imaging.make_grid(np.concatenate(rows), cols=2, padding=padding)
    height = generated_images.shape[1]
    bar = np.full((grid.shape[0], 4, 3), 255, np.uint8)
    for row, i in enumerate(chosen):
        top = padding + row * (height + padding)
        bar[top:top + height] = (220, 40, 40) if result["copy"][i] else (170, 170, 170)
    return np.concatenate([bar, grid[..., :3] if grid.shape[-1] >= 3
                           else np.repeat(grid, 3, axis=-1)], axis=1)
