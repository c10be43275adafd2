"""Quality and diversity scores on feature vectors: FID, KID, precision/recall, density/coverage.

Every function takes two `(n, d)` feature arrays (generated, real) and works in
NumPy; large inputs go through in blocks.
"""

import warnings

import numpy as np
import scipy.linalg

from keras_genart.errors import UserInputError
from keras_genart.metrics.neighbours import (
    check_features,
    count_within,
    kth_neighbour_radii,
    nearest,
)


def feature_statistics(features, batch_size=10_000):
    """Mean and covariance (float64) of `(n, d)` features, accumulated in batches."""
    features = check_features(features)
    if len(features) < 2:
        raise UserInputError("the Frechet distance needs at least 2 feature vectors")
    mean = features.mean(axis=0)
    scatter = np.zeros((features.shape[1],) * 2)
    for start in range(0, len(features), batch_size):
        centred = features[start:start + batch_size] - mean
        scatter += centred.T @ centred
    return mean, scatter / (len(features) - 1)


def frechet_distance(mean1, cov1, mean2, cov2, eps=1e-6):
    """Frechet distance between two Gaussians: |m1 - m2|^2 + Tr(C1 + C2 - 2 (C1 C2)^1/2).

    Heusel et al. 2017 (https://arxiv.org/abs/1706.08500). The matrix square
    root is `scipy.linalg.sqrtm`; when it is not finite (a singular product),
    `eps * I` is added to both covariances and it is taken again; its real
    part is used (tiny imaginary parts are numerical error).
    """
    mean1, mean2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    if mean1.shape != mean2.shape or cov1.shape != cov2.shape:
        raise UserInputError(
            f"feature sizes differ: {mean1.shape} vs {mean2.shape}; use one feature "
            "extractor for both sets")
    diff = mean1 - mean2
    with warnings.catch_warnings():  # a singular product is handled just below
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(cov1 @ cov2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(cov1)) * eps
        covmean = scipy.linalg.sqrtm((cov1 + offset) @ (cov2 + offset))
    covmean = np.real(covmean)
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean))


def fid(generated, real):
    """FID-style score: the Frechet distance between the feature Gaussians of two sets."""
    return frechet_distance(*feature_statistics(generated), *feature_statistics(real))


def _polynomial_kernel(x, y):
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def kid(generated, real, num_subsets=100, subset_size=1000, seed=0):
    """Kernel Inception Distance: unbiased MMD^2 with the cubic polynomial kernel.

    Binkowski et al. 2018 (https://arxiv.org/abs/1801.01401):
    `k(x, y) = (x.y / d + 1)^3`, averaged over `num_subsets` random subsets of
    `min(subset_size, n, m)` vectors from each set.

    Returns:
        `(mean, std)` over the subsets.
    """
    generated, real = check_features(generated, "generated"), check_features(real, "real")
    m = min(subset_size, len(generated), len(real))
    if m < 2:
        raise UserInputError("KID needs at least 2 vectors in each set")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(num_subsets):
        x = generated[rng.choice(len(generated), m, replace=False)]
        y = real[rng.choice(len(real), m, replace=False)]
        kxx, kyy, kxy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
        off = m * (m - 1)
        values.append((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off
                      - 2.0 * kxy.mean())
    values = np.asarray(values)
    return float(values.mean()), float(values.std())


def precision_recall(generated, real, k=3, real_radii=None):
    """Improved precision and recall, Kynkaanniemi et al. 2019 (https://arxiv.org/abs/1904.06991).

    Precision: the share of generated vectors inside the real manifold (the
    union of balls around each real vector reaching its k-th nearest real
    neighbour); recall: the share of real vectors inside the generated
    manifold, built the same way.

    Args:
        real_radii: array `(m,)`. Each real vector's distance to its k-th
            nearest other real vector, when the caller has it already.
            Defaults to None (computed here).

    Returns:
        `(precision, recall)`.
    """
    generated, real = check_features(generated, "generated"), check_features(real, "real")
    if real_radii is None:
        real_radii = kth_neighbour_radii(real, k)
    fake_radii = kth_neighbour_radii(generated, k)
    precision = float(np.mean(count_within(generated, real, real_radii) > 0))
    recall = float(np.mean(count_within(real, generated, fake_radii) > 0))
    return precision, recall


def density_coverage(generated, real, k=5, real_radii=None):
    """Density and coverage, Naeem et al. 2020 (https://arxiv.org/abs/2002.09797).

    With `B_i` the ball around real vector i reaching its k-th nearest real
    neighbour: density = `sum_j #{i: g_j in B_i} / (k * n_generated)`
    (about 1 when the generated set is distributed like the real one);
    coverage = the share of real balls holding at least one generated vector.

    Args:
        real_radii: array `(m,)`. The real vectors' k-th neighbour
            distances, when the caller has them already. Defaults to None.

    Returns:
        `(density, coverage)`.
    """
    generated, real = check_features(generated, "generated"), check_features(real, "real")
    radii = kth_neighbour_radii(real, k) if real_radii is None else real_radii
    density = float(count_within(generated, real, radii).sum() / (k * len(generated)))
    # A real ball holds a generated vector when its nearest generated one is inside.
    nearest_generated, _ = nearest(real, generated, k=1)
    coverage = float(np.mean(nearest_generated[:, 0] <= radii))
    return density, coverage
