"""Novelty and memorisation: is a generated picture a copy of a training picture?

For every generated vector: its nearest training vector, and the nearest
training vector that is not a duplicate of that one. A generated vector is
flagged as a near-copy when its nearest training vector is much nearer than
that second one (`d1 / d2 < ratio`, the nearest-neighbour ratio test; 1/3 by
default).

Duplicates matter because user folders hold them: a copy of a picture that
is twice in the training set is as near to the second copy as to the first,
and the plain ratio test says ~1. `find_duplicates` groups exact duplicates
(identical pictures) and near ones (training pictures the ratio test itself
would call copies of each other); the test then looks outside the group.

Authenticity (Alaa et al. 2022, https://arxiv.org/abs/2102.08921) is reported
beside it: a generated vector is authentic when it lies farther from its
nearest training vector than that training vector lies from any other (outside
its duplicates). It is a softer signal: a fresh sample from the training
distribution itself is authentic only about half of the time, while copies are
never authentic.
"""

import hashlib

import numpy as np

from keras_genart.errors import UserInputError
from keras_genart.metrics.neighbours import (
    CHUNK_BYTES,
    check_features,
    nearest,
    nearest_outside_group,
)

COPY_RATIO = 1.0 / 3.0
# Near duplicates are looked for among each picture's 16 nearest others.
DUPLICATE_NEIGHBOURS = 16


def _first_identical(rows):
    """For each row of an array, the index of the first row with the same bytes."""
    first = {}
    return np.array([first.setdefault(
        hashlib.blake2b(np.ascontiguousarray(row).tobytes(), digest_size=16).digest(), i)
        for i, row in enumerate(rows)], np.int64)


def _components(size, starts, ends):
    """Connected-component labels of a graph of `size` nodes with edges `starts`-`ends`."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(starts)), (starts, ends)), shape=(size, size))
    return connected_components(graph, directed=False)[1]


def find_duplicates(features, pictures=None, ratio=COPY_RATIO, neighbours=None,
                    max_group=DUPLICATE_NEIGHBOURS, chunk_bytes=CHUNK_BYTES):
    """Exact and near duplicates in a training set, as groups.

    Exact duplicates are identical pictures (identical feature rows when no
    pictures are given), found by hashing, in groups of any size. Near
    duplicates are found by the copy check's own ratio test inside the
    training set: a vector whose `j` nearest others (`j < max_group`) all lie
    nearer than `ratio` times the distance of the next one is a duplicate of
    those `j`. Groups are the connected sets of such pairs. The neighbour
    search runs in blocks of `chunk_bytes`; memory is `O(m * max_group)`
    beyond that.

    Args:
        features: array `(m, d)`, m >= 2. The training pictures' features.
        pictures: array `(m, ...)`. The training pictures, for exact
            duplicates. Defaults to None (identical features).
        ratio: float. The ratio-test threshold. Defaults to 1/3.
        neighbours: `(distances, indices)`, each `(m, k)`: every vector's
            nearest other vectors, nearest first, when the caller has them.
            Defaults to None (searched here).
        max_group: int. Neighbours looked at for near duplicates. Defaults to 16.
        chunk_bytes: int. Memory for one block of distances. Defaults to 64 MiB.

    Returns:
        dict: `group` (int array `(m,)`, a label per group), `group_size`
        (`(m,)`), `outside_radius` (`(m,)`: each vector's distance to the
        nearest vector outside its group; inf when there is none) and
        `counts`: `exact` and `near` (pictures beyond the first of their
        group, identical and otherwise), `groups` (groups of two or more),
        `largest`.
    """
    features = check_features(features, "train")
    m = len(features)
    if m < 2:
        raise UserInputError(f"duplicates need at least 2 training pictures, got {m}")
    if pictures is not None and len(pictures) != m:
        raise UserInputError(f"{len(pictures)} training pictures for {m} feature vectors")
    if neighbours is None:
        neighbours = nearest(features, features, k=min(max_group, m - 1), exclude_self=True,
                             chunk_bytes=chunk_bytes)
    distances, indices = neighbours
    looked = distances[:, :max_group]
    gap = looked[:, :-1] < ratio * looked[:, 1:]
    taken = np.where(gap.any(axis=1), gap.argmax(axis=1) + 1, 0)
    rows, position = np.nonzero(np.arange(looked.shape[1])[None, :] < taken[:, None])
    identical = _first_identical(features if pictures is None else pictures)
    group = _components(m, np.concatenate([rows, np.arange(m)]),
                        np.concatenate([indices[rows, position], identical]))
    sizes = np.bincount(group)
    # The nearest vector of another group is mostly among the neighbours found.
    other = group[indices] != group[:, None]
    outside_radius = np.where(other.any(axis=1),
                              distances[np.arange(m), other.argmax(axis=1)], np.nan)
    missing = np.flatnonzero(~other.any(axis=1))
    if len(missing):
        outside_radius[missing] = nearest_outside_group(
            features[missing], features, group, group[missing], chunk_bytes)[2]
    exact = m - len(np.unique(identical))
    return {"group": group, "group_size": sizes[group], "outside_radius": outside_radius,
            "counts": {"exact": int(exact), "near": int(m - len(sizes) - exact),
                       "groups": int(np.sum(sizes > 1)), "largest": int(sizes.max())}}


def memorization(generated, train, ratio=COPY_RATIO, train_radii=None, duplicates=None):
    """Nearest training neighbours of generated vectors, and which look copied.

    Args:
        generated: array `(n, d)`. Features of generated pictures.
        train: array `(m, d)`, m >= 2. Features of the training pictures.
        ratio: float. The ratio-test threshold. Defaults to 1/3.
        train_radii: array `(m,)`. Each training vector's distance to its
            nearest other one outside its duplicates, when the caller has it
            already. Defaults to None (that of `duplicates`).
        duplicates: dict from `find_duplicates` on `train`. Defaults to None
            (found here, from the features alone).

    Returns:
        dict: `nearest_index`, `nearest_distance`, `second_distance` (to the
        nearest training vector that is not a duplicate of the nearest),
        `distance_ratio`, `nearest_group_size` (1, or the number of duplicates
        of the nearest training picture, itself included) (arrays, one entry
        per generated vector), `authentic` (bool array), `copy` (bool array:
        the ratio test), `copy_share`, `authenticity` (share authentic),
        `distance_quantiles` (0, 5, 25, 50, 75, 95, 100 % of nearest
        distances) and `duplicates` (the training set's duplicate counts).
    """
    generated, train = check_features(generated, "generated"), check_features(train, "train")
    if len(train) < 2:
        raise UserInputError("novelty needs at least 2 training pictures")
    if not 0 < ratio < 1:
        raise UserInputError(f"the copy ratio must be in (0, 1), got {ratio}")
    if duplicates is None:
        duplicates = find_duplicates(train, ratio=ratio)
    if duplicates["counts"]["largest"] == len(train):
        raise UserInputError(f"novelty needs at least 2 different training pictures; all "
                             f"{len(train)} are copies of one")
    d1, index, d2 = nearest_outside_group(generated, train, duplicates["group"])
    distance_ratio = d1 / np.maximum(d2, 1e-12)
    if train_radii is None:
        train_radii = duplicates["outside_radius"]
    authentic = d1 > train_radii[index]
    copy = distance_ratio < ratio
    quantiles = (0, 5, 25, 50, 75, 95, 100)
    return {
        "nearest_index": index,
        "nearest_distance": d1,
        "second_distance": d2,
        "distance_ratio": distance_ratio,
        "nearest_group_size": duplicates["group_size"][index],
        "authentic": authentic,
        "copy": copy,
        "copy_share": float(copy.mean()),
        "authenticity": float(authentic.mean()),
        "distance_quantiles": {f"{q}%": float(v)
                               for q, v in zip(quantiles, np.percentile(d1, quantiles))},
        "duplicates": dict(duplicates["counts"]),
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
