"""Nearest neighbours in feature space, in chunks: the engine under PR, DC and novelty.

Distances are Euclidean, computed as `sqrt(|a|^2 + |b|^2 - 2 a.b)` in float64 a
block of rows at a time, so memory stays bounded (about `chunk_bytes`) for
50,000 x 50,000 comparisons.
"""

import numpy as np

from keras_genart.errors import UserInputError

CHUNK_BYTES = 64 << 20


def check_features(features, name="features"):
    """A float64 `(n, d)` array, or a clear error for empty, ragged or non-finite input."""
    try:
        array = np.asarray(features, np.float64)
    except (TypeError, ValueError) as e:
        raise UserInputError(f"{name} must be an (n, d) array of numbers: {e}") from e
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise UserInputError(f"{name} must be a non-empty (n, d) array, got shape {array.shape}")
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise UserInputError(
            f"{name} has {int(bad.sum())} rows with NaN or infinite values (first: row "
            f"{int(np.argmax(bad))}); the images or the feature extractor are broken")
    return array


def _rows_per_chunk(columns, chunk_bytes):
    return max(1, int(chunk_bytes // (8 * max(1, columns))))


def pairwise_distances(a, b):
    """Euclidean distances `(len(a), len(b))` between two float64 arrays."""
    squared = (np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :]
               - 2.0 * a @ b.T)
    return np.sqrt(np.maximum(squared, 0.0))


def nearest(query, reference, k=1, exclude_self=False, chunk_bytes=CHUNK_BYTES):
    """The `k` nearest rows of `reference` for every row of `query`.

    Args:
        query: array `(n, d)`.
        reference: array `(m, d)`.
        k: int. Neighbours per query row. Defaults to 1.
        exclude_self: bool. `query` is `reference`: row i is not its own
            neighbour (its distance 0 is skipped). Defaults to False.
        chunk_bytes: int. Memory for one block of distances. Defaults to 64 MiB.

    Returns:
        `(distances, indices)`, each `(n, k)`, nearest first.
    """
    query, reference = check_features(query, "query"), check_features(reference, "reference")
    available = len(reference) - (1 if exclude_self else 0)
    if k < 1 or k > available:
        raise UserInputError(
            f"{k} nearest neighbours asked among {available} reference points; "
            "give more points or a smaller k")
    distances = np.empty((len(query), k))
    indices = np.empty((len(query), k), np.int64)
    rows = _rows_per_chunk(len(reference), chunk_bytes)
    for start in range(0, len(query), rows):
        block = pairwise_distances(query[start:start + rows], reference)
        if exclude_self:
            local = np.arange(len(block))
            block[local, start + local] = np.inf
        part = np.argpartition(block, k - 1, axis=1)[:, :k]
        part_d = np.take_along_axis(block, part, axis=1)
        order = np.argsort(part_d, axis=1, kind="stable")
        distances[start:start + rows] = np.take_along_axis(part_d, order, axis=1)
        indices[start:start + rows] = np.take_along_axis(part, order, axis=1)
    return distances, indices


def kth_neighbour_radii(features, k, chunk_bytes=CHUNK_BYTES):
    """Distance from each row to its k-th nearest other row (the row itself excluded)."""
    distances, _ = nearest(features, features, k=k, exclude_self=True, chunk_bytes=chunk_bytes)
    return distances[:, -1]


def count_within(query, centres, radii, chunk_bytes=CHUNK_BYTES):
    """For each query row, how many balls `(centres[i], radii[i])` contain it (closed balls)."""
    query, centres = check_features(query, "query"), check_features(centres, "centres")
    counts = np.zeros(len(query), np.int64)
    rows = _rows_per_chunk(len(centres), chunk_bytes)
    for start in range(0, len(query), rows):
        block = pairwise_distances(query[start:start + rows], centres)
        counts[start:start + rows] = np.sum(block <= radii[None, :], axis=1)
    return counts


def nearest_outside_group(query, reference, groups, query_groups=None, chunk_bytes=CHUNK_BYTES):
    """Each query row's nearest reference row, and the nearest one of another group.

    Groups are duplicates of one picture: a query row next to a picture that
    is twice in `reference` is no nearer to its second neighbour than to the
    first, but it is to the nearest row outside the pair.

    Args:
        query: array `(n, d)`.
        reference: array `(m, d)`.
        groups: int array `(m,)`. The reference rows' groups.
        query_groups: int array `(n,)`. The group each query row looks
            outside of (for reference rows themselves: their own). Defaults
            to None: the group of the row's nearest reference row.
        chunk_bytes: int. Memory for one block of distances. Defaults to 64 MiB.

    Returns:
        `(nearest_distance, nearest_index, outside_distance)`, each `(n,)`;
        `outside_distance` is inf where every reference row is in that group.
    """
    query, reference = check_features(query, "query"), check_features(reference, "reference")
    groups = np.asarray(groups)
    nearest_distance, outside_distance = np.empty(len(query)), np.empty(len(query))
    nearest_index = np.empty(len(query), np.int64)
    rows = _rows_per_chunk(len(reference), chunk_bytes)
    for start in range(0, len(query), rows):
        block = pairwise_distances(query[start:start + rows], reference)
        index = block.argmin(axis=1)
        nearest_index[start:start + rows] = index
        nearest_distance[start:start + rows] = block[np.arange(len(block)), index]
        left = groups[index] if query_groups is None else query_groups[start:start + rows]
        block[groups[None, :] == np.asarray(left)[:, None]] = np.inf
        outside_distance[start:start + rows] = block.min(axis=1)
    return nearest_distance, nearest_index, outside_distance
