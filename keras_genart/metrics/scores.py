"""Quality and diversity scores on feature vectors: FID, KID, precision/recall, density/coverage.

Every function takes two `(n, d)` feature arrays (generated, real) and works in
NumPy; large inputs go through in blocks.
"""

import warnings

import numpy as np
import scipy.linalg

from keras_genart.errors import UserInputError
from keras_genart.metrics.neighbours import (
    CHUNK_BYTES,
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
    """`(x.y / d + 1)^3`, cubed in place: `** 3` costs more than the product itself."""
    gram = x @ y.T
    gram /= x.shape[1]
    gram += 1.0
    cube = gram * gram
    cube *= gram
    return cube


def _mmd2(kxx, kyy, kxy):
    """The unbiased MMD^2 from the three kernel matrices of two equal-size sets."""
    pairs = len(kxx) * (len(kxx) - 1)
    return float((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / pairs
                 - 2.0 * kxy.mean())


def _mmd2_and_variance(x, y):
    """The unbiased MMD^2 of two equal-size sets, and the variance of that estimate.

    The variance is that of the U-statistic with kernel
    `h(i, j) = k(x_i, x_j) + k(y_i, y_j) - k(x_i, y_j) - k(x_j, y_i)` (Hoeffding):
    `4 (m - 2) / (m (m - 1)) zeta1 + 2 / (m (m - 1)) zeta2`, where zeta1 and
    zeta2 come from the mean of `h(i, j) h(i, l)` over index triples, of
    `h(i, j)^2` over pairs and of `h(i, j) h(k, l)` over four distinct indices
    (for the squared mean of h, without the upward bias of squaring the
    estimate). Binkowski et al. 2018 report this variance beside KID, after
    Sutherland et al. 2017 (https://arxiv.org/abs/1611.04488).
    """
    m = len(x)
    kxx, kyy, kxy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
    mmd2 = _mmd2(kxx, kyy, kxy)
    h = kxx
    h += kyy
    h -= kxy
    h -= kxy.T
    np.fill_diagonal(h, 0.0)
    pairs = m * (m - 1)
    total, squares = h.sum(), np.sum(h * h)
    rows = h.sum(axis=1)
    row_squares = np.sum(rows * rows)
    if m >= 4:  # h(i, j) h(k, l) over distinct i, j, k, l: S^2 - 4 sum r_i^2 + 2 Q
        mean_squared = ((total ** 2 - 4.0 * row_squares + 2.0 * squares)
                        / (pairs * (m - 2) * (m - 3)))
    else:
        mean_squared = (total / pairs) ** 2
    # Both are variances. Where the two sets come from one distribution zeta1
    # is 0 and its estimate swings around 0 enough to swamp the zeta2 term
    # (or turn the sum negative): kept >= 0, the null variance remains.
    zeta2 = max(squares / pairs - mean_squared, 0.0)
    zeta1 = (row_squares - squares) / (pairs * (m - 2)) - mean_squared if m > 2 else 0.0
    variance = 4.0 * (m - 2) / pairs * max(zeta1, 0.0) + 2.0 / pairs * zeta2
    return mmd2, float(variance)


def _kernel_sums(a, b, in_a, in_b):
    """`sum k(a_i, b_j)` over `i` in subset s of a and `j` in subset s of b, for every s.

    `in_a`, `in_b`: float indicator matrices `(len(a), subsets)`, `(len(b),
    subsets)`. The kernel is taken a block of rows of `a` at a time.
    """
    sums = np.zeros(in_a.shape[1])
    rows = max(1, CHUNK_BYTES // (8 * len(b)))
    for start in range(0, len(a), rows):
        block = _polynomial_kernel(a[start:start + rows], b) @ in_b
        sums += np.einsum("is,is->s", in_a[start:start + rows], block)
    return sums


def _subset_mmd2_by_sums(x, y, subsets, m):
    """MMD^2 of every subset from one pass over the whole kernel matrices.

    Cheaper than a kernel per subset when the sets are not much larger than
    the subsets: the kernel over all pairs costs `(n_x + n_y)^2 d`, subsets
    `num_subsets * 4 m^2 d`.
    """
    in_x, in_y = np.zeros((len(x), len(subsets))), np.zeros((len(y), len(subsets)))
    for s, (i, j) in enumerate(subsets):
        in_x[i, s], in_y[j, s] = 1.0, 1.0
    diagonal_x = (np.sum(x * x, axis=1) / x.shape[1] + 1.0) ** 3
    diagonal_y = (np.sum(y * y, axis=1) / y.shape[1] + 1.0) ** 3
    within = (_kernel_sums(x, x, in_x, in_x) - diagonal_x @ in_x
              + _kernel_sums(y, y, in_y, in_y) - diagonal_y @ in_y)
    return within / (m * (m - 1)) - 2.0 * _kernel_sums(x, y, in_x, in_y) / (m * m)


def kid_estimate(generated, real, num_subsets=100, subset_size=1000, seed=0):
    """KID with how it was computed: `kid`'s numbers and the subsets behind them.

    Returns:
        dict: `mean`, `std`, `subset_size` (the size used, at most each
        set's), `subsets` (computed: 1 when both sets are whole in every
        subset) and `std_of`: `"subsets"` (the spread between subsets) or
        `"estimate"` (the estimate's own standard deviation, used when one
        set is whole in every subset, so that subsets cannot show its share).
    """
    generated, real = check_features(generated, "generated"), check_features(real, "real")
    if int(num_subsets) < 1 or int(subset_size) < 2:
        raise UserInputError(f"KID needs num_subsets >= 1 and subset_size >= 2, got "
                             f"{num_subsets} and {subset_size}")
    m = min(int(subset_size), len(generated), len(real))
    if m < 2:
        raise UserInputError("KID needs at least 2 vectors in each set")
    whole_generated, whole_real = m == len(generated), m == len(real)
    if whole_generated and whole_real:
        # Every subset would be both whole sets, the same number each time.
        mean, variance = _mmd2_and_variance(generated, real)
        return {"mean": mean, "std": float(np.sqrt(variance)), "subset_size": m,
                "subsets": 1, "std_of": "estimate"}
    rng = np.random.default_rng(seed)
    subsets = [(rng.choice(len(generated), m, replace=False),
                rng.choice(len(real), m, replace=False)) for _ in range(int(num_subsets))]
    result = {"subset_size": m, "subsets": len(subsets), "std_of": "estimate"}
    if whole_generated or whole_real:
        # One set is whole in every subset: subsets show only the other's share.
        values, variances = zip(*(_mmd2_and_variance(generated[i], real[j])
                                  for i, j in subsets))
        return {"mean": float(np.mean(values)), "std": float(np.sqrt(np.mean(variances))),
                **result}
    dim = generated.shape[1]
    if (len(generated) + len(real)) ** 2 * (dim + len(subsets)) < len(subsets) * 4 * m * m * dim:
        values = _subset_mmd2_by_sums(generated, real, subsets, m)
    else:
        values = [_mmd2(_polynomial_kernel(x, x), _polynomial_kernel(y, y),
                        _polynomial_kernel(x, y))
                  for x, y in ((generated[i], real[j]) for i, j in subsets)]
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), **result,
            "std_of": "subsets"}


def kid(generated, real, num_subsets=100, subset_size=1000, seed=0):
    """Kernel Inception Distance: unbiased MMD^2 with the cubic polynomial kernel.

    Binkowski et al. 2018 (https://arxiv.org/abs/1801.01401):
    `k(x, y) = (x.y / d + 1)^3`, averaged over `num_subsets` random subsets of
    `min(subset_size, n, m)` vectors from each set (100 of 1,000, as in the
    paper's code, torch-fidelity and clean-fid). When that size is both
    sets' sizes every subset is the whole of both sets: the estimate is
    computed once, and its standard deviation comes from the variance of the
    estimate instead of from subsets that cannot differ.

    Returns:
        `(mean, std)`: std is the spread between subsets when both sets are
        larger than the subsets, else the estimate's standard deviation (see
        `kid_estimate`).
    """
    result = kid_estimate(generated, real, num_subsets, subset_size, seed)
    return result["mean"], result["std"]


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
