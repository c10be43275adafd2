"""Metrics against values worked out independently."""

import numpy as np
import pytest

from keras_genart.errors import UserInputError
from keras_genart.metrics import (
    copy_pairs_image,
    density_coverage,
    fid,
    frechet_distance,
    kid,
    memorization,
    nearest,
    precision_recall,
)
from keras_genart.metrics.novelty import find_duplicates
from keras_genart.metrics.scores import kid_estimate


def _rotation(d, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q


def test_frechet_distance_of_gaussians_in_closed_form():
    # Covariances that share eigenvectors: (C1 C2)^1/2 = R diag(s1 s2) R^T, so
    # FD = |m1 - m2|^2 + sum((s1 - s2)^2) for standard deviations s1, s2.
    d = 6
    r = _rotation(d, 0)
    s1, s2 = np.linspace(0.5, 2.0, d), np.linspace(1.5, 0.2, d)
    c1, c2 = r @ np.diag(s1 ** 2) @ r.T, r @ np.diag(s2 ** 2) @ r.T
    m1, m2 = np.zeros(d), np.arange(d) / 10.0
    expected = float(np.sum((m1 - m2) ** 2) + np.sum((s1 - s2) ** 2))
    assert frechet_distance(m1, c1, m2, c2) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(m1, c1, m1, c1) == pytest.approx(0.0, abs=1e-9)
    # Singular covariances (constant features) take the eps retry and stay finite.
    zero = np.zeros((d, d))
    assert frechet_distance(m1, zero, m2, zero) == pytest.approx(np.sum(m2 ** 2), abs=1e-4)


def test_fid_of_samples_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((20_000, 4))
    b = rng.standard_normal((20_000, 4)) * 2.0 + 1.0
    # |m|^2 = 4, sum (1 - 2)^2 = 4.
    assert fid(a, b) == pytest.approx(8.0, rel=0.03)
    assert fid(a[:10_000], a[10_000:]) < 0.01


def _kid_by_hand(x, y):
    k = lambda a, b: (float(np.dot(a, b)) / len(a) + 1.0) ** 3  # noqa: E731
    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_matches_the_unbiased_estimate_and_orders_shifts():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3)) + 0.5
    mean, std = kid(x, y, num_subsets=3, subset_size=5)
    assert mean == pytest.approx(_kid_by_hand(x, y), rel=1e-9) and std > 0
    base = rng.standard_normal((600, 8))
    same, _ = kid(base[:300], base[300:], num_subsets=20, subset_size=300)
    near, _ = kid(base[:300], base[300:] + 0.3, num_subsets=20, subset_size=300)
    far, _ = kid(base[:300], base[300:] + 1.0, num_subsets=20, subset_size=300)
    assert abs(same) < 0.05 * near and near < far


def _kernel_calls(monkeypatch):
    from keras_genart.metrics import scores

    calls = []
    kernel = scores._polynomial_kernel
    monkeypatch.setattr(scores, "_polynomial_kernel",
                        lambda a, b: calls.append(len(a)) or kernel(a, b))
    return calls


@pytest.mark.parametrize("shift,scale", [(0.3, 1.2), (0.0, 1.0)])
def test_kid_on_whole_sets_is_computed_once_with_the_spread_of_the_estimate(shift, scale,
                                                                          monkeypatch):
    # When the subset size is both set sizes, every "subset" is the whole set:
    # one estimate, and its standard deviation from the U-statistic variance
    # estimate, checked here against the spread of independent draws; also
    # for two sets from one distribution, where that estimate is the hardest.
    rng = np.random.default_rng(5)
    m, d = 40, 4

    def draw():
        return rng.standard_normal((m, d)), rng.standard_normal((m, d)) * scale + shift

    draws = [kid(*draw(), num_subsets=1, subset_size=m) for _ in range(300)]
    spread = np.std([mean for mean, _ in draws])
    stds = np.array([std for _, std in draws])
    assert 0.8 < np.sqrt(np.mean(stds ** 2)) / spread < 1.25 and stds.min() > 0
    calls = _kernel_calls(monkeypatch)
    x, y = draw()
    mean, std = kid(x, y, num_subsets=100, subset_size=1000)
    assert len(calls) == 3                              # not 300
    assert mean == pytest.approx(_kid_by_hand(x, y), rel=1e-9) and std > 0


def test_kid_with_one_whole_set_reports_the_estimate_spread_and_subsets_otherwise(monkeypatch):
    rng = np.random.default_rng(6)

    def draw(n):
        return rng.standard_normal((n, 4)) + 0.2

    # The 30 generated vectors are in every subset, so the spread between
    # subsets would miss their share: the estimate's own spread is reported,
    # which matches the spread of KID over independent sets of 30.
    truth = np.std([kid(rng.standard_normal((30, 4)), draw(30), 1, 30)[0] for _ in range(300)])
    calls = _kernel_calls(monkeypatch)
    reported = [kid_estimate(rng.standard_normal((30, 4)), draw(400), 20, 1000)
                for _ in range(10)]
    assert len(calls) == 3 * 20 * 10 and set(calls) == {30}
    assert {(r["subsets"], r["subset_size"], r["std_of"]) for r in reported} == {
        (20, 30, "estimate")}
    assert 0.75 < np.sqrt(np.mean([r["std"] ** 2 for r in reported])) / truth < 1.33


@pytest.mark.parametrize("n,by_sums", [(200, False), (60, True)])
def test_kid_on_subsets_smaller_than_both_sets_is_the_spread_between_them(n, by_sums,
                                                                         monkeypatch):
    # Sets not much larger than the subsets go through one pass over the whole
    # kernel matrices; the numbers are those of one kernel per subset.
    from keras_genart.metrics import scores

    passes = []
    by_subset_sums = scores._subset_mmd2_by_sums
    monkeypatch.setattr(scores, "_subset_mmd2_by_sums",
                        lambda *a: passes.append(1) or by_subset_sums(*a))
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((n, 4)), rng.standard_normal((n, 4)) + 0.2
    result = kid_estimate(x, y, num_subsets=10, subset_size=50, seed=3)
    assert len(passes) == by_sums
    values = []
    same = np.random.default_rng(3)
    for _ in range(10):
        subset_x = x[same.choice(n, 50, replace=False)]
        values.append(_kid_by_hand(subset_x, y[same.choice(n, 50, replace=False)]))
    assert result["mean"] == pytest.approx(np.mean(values), rel=1e-9)
    assert result["std"] == pytest.approx(np.std(values), rel=1e-6)
    assert (result["subsets"], result["subset_size"], result["std_of"]) == (10, 50, "subsets")


def test_precision_recall_density_coverage_by_hand():
    # Real points 0, 1, 2, 3 on a line; each one's nearest other real point
    # is 1 away (k = 1). Generated: 0.5 (between 0 and 1) and 10 (far away).
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    generated = np.array([[0.5], [10.0]])
    precision, recall = precision_recall(generated, real, k=1)
    assert precision == 0.5            # 0.5 is inside the real manifold, 10 is not
    assert recall == 1.0               # the generated balls have radius 9.5: all reals inside
    density, coverage = density_coverage(generated, real, k=1)
    assert density == 1.0              # 0.5 lies in 2 real balls, 10 in none: 2 / (1 * 2)
    assert coverage == 0.5             # the balls of 0 and 1 hold 0.5; those of 2 and 3 nothing
    # k = 2, the point itself excluded: radii 2, 1, 1, 2 for 0, 1, 2, 3. 0.5 lies in
    # the balls of 0 and 1 (not 2: 1.5 > 1; not 3: 2.5 > 2) -> density 2 / (2 * 2).
    assert density_coverage(generated, real, k=2) == (0.5, 0.5)


def test_nearest_neighbours_in_chunks_match_brute_force():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((37, 5)), rng.standard_normal((53, 5))
    brute = np.linalg.norm(a[:, None] - b[None], axis=-1)
    distances, indices = nearest(a, b, k=3, chunk_bytes=8 * 53 * 4)  # 4 rows a block
    np.testing.assert_array_equal(indices, np.argsort(brute, axis=1)[:, :3])
    np.testing.assert_allclose(distances, np.sort(brute, axis=1)[:, :3], rtol=1e-9)
    own, own_index = nearest(a, a, k=1, exclude_self=True, chunk_bytes=8 * 37 * 5)
    np.fill_diagonal(brute_self := np.linalg.norm(a[:, None] - a[None], axis=-1), np.inf)
    np.testing.assert_array_equal(own_index[:, 0], brute_self.argmin(axis=1))


def test_memorized_samples_are_flagged_and_fresh_ones_are_not():
    rng = np.random.default_rng(4)
    train = rng.standard_normal((200, 16))
    copies = train[:50] + rng.standard_normal((50, 16)) * 1e-3
    fresh = rng.standard_normal((50, 16))
    copied = memorization(copies, train)
    assert copied["copy_share"] == 1.0 and copied["authenticity"] == 0.0
    np.testing.assert_array_equal(copied["nearest_index"], np.arange(50))
    novel = memorization(fresh, train)
    assert novel["copy_share"] == 0.0
    assert 0.2 < novel["authenticity"] <= 1.0
    assert novel["distance_quantiles"]["50%"] > 10 * copied["distance_quantiles"]["100%"]
    # The picture a user checks: most copy-like pairs first, flagged in red.
    images = rng.integers(0, 255, (200, 8, 8, 3), dtype=np.uint8)
    mixed = memorization(np.concatenate([fresh[:3], copies[:2]]), train)
    picture = copy_pairs_image(np.concatenate([images[100:103], images[:2]]), images, mixed, n=4)
    assert picture.dtype == np.uint8 and picture.shape == (2 + 4 * 10, 4 + 2 + 2 * 10, 3)
    assert tuple(picture[5, 1]) == (220, 40, 40)        # first row: a flagged copy


@pytest.mark.parametrize("bad,message", [
    (np.zeros((0, 4)), "non-empty"),
    (np.array([[1.0, np.nan], [0.0, 0.0]]), "NaN or infinite"),
    (np.zeros(4), r"\(n, d\) array"),
])
def test_bad_features_are_clear_errors(bad, message):
    with pytest.raises(UserInputError, match=message):
        precision_recall(bad, np.zeros((5, 2)) + np.arange(5)[:, None])


def test_too_few_points_for_k_is_a_clear_error():
    with pytest.raises(UserInputError, match="3 nearest neighbours asked among 2"):
        precision_recall(np.zeros((5, 2)), np.ones((3, 2)), k=3)


class _PixelFeatures:
    """A feature extractor for report tests: the pictures' pixels, flattened."""

    identity = {"name": "pixels"}

    def __call__(self, pictures):
        return np.asarray(pictures, np.float64).reshape(len(pictures), -1) / 255.0


def test_evaluate_reports_how_kid_was_computed():
    from keras_genart.metrics.report import evaluate

    rng = np.random.default_rng(7)
    generated, real = (rng.integers(0, 256, (n, 4, 4, 3), dtype=np.uint8) for n in (12, 12))
    report, _ = evaluate(generated, real, _PixelFeatures(), metrics=["kid"])
    assert report["scores"]["kid_std"] > 0
    assert report["settings"]["kid_subsets"] == 100          # as asked
    assert report["settings"]["kid_used"] == {"subsets": 1, "subset_size": 12,
                                              "std_of": "estimate"}
    report, _ = evaluate(generated, real, _PixelFeatures(), metrics=["kid"],
                         kid_subsets=5, kid_subset_size=6)
    assert report["settings"]["kid_used"] == {"subsets": 5, "subset_size": 6,
                                              "std_of": "subsets"}


def _train_with_duplicates(rng):
    """200 distinct vectors, then 10 exact copies of the first 10 and 10 near
    copies (1e-3 away) of the next 10."""
    unique = rng.standard_normal((200, 16))
    near = unique[10:20] + rng.standard_normal((10, 16)) * 1e-3
    return np.concatenate([unique, unique[:10], near])


def test_copies_of_duplicated_training_pictures_are_flagged():
    # A copy of a picture that is twice in the training set has two nearest
    # neighbours at the same distance: the ratio test alone gives ~1.
    rng = np.random.default_rng(9)
    train = _train_with_duplicates(rng)
    copies = train[:20] + rng.standard_normal((20, 16)) * 1e-4
    copied = memorization(copies, train)
    assert copied["copy_share"] == 1.0 and copied["authenticity"] == 0.0
    np.testing.assert_array_equal(copied["nearest_group_size"], 2)
    assert copied["duplicates"] == {"exact": 10, "near": 10, "groups": 20, "largest": 2}
    fresh = memorization(rng.standard_normal((100, 16)), train)
    assert fresh["copy_share"] == 0.0 and 0.2 < fresh["authenticity"] <= 1.0


def test_duplicates_are_found_in_chunks_and_in_groups_of_any_size():
    rng = np.random.default_rng(10)
    train = _train_with_duplicates(rng)
    whole = find_duplicates(train)
    chunked = find_duplicates(train, chunk_bytes=8 * len(train) * 7)  # 7 rows a block
    np.testing.assert_array_equal(whole["group"], chunked["group"])
    np.testing.assert_array_equal(whole["outside_radius"], chunked["outside_radius"])
    assert whole["group"][0] == whole["group"][200] != whole["group"][1]
    # Each vector's distance to the nearest one outside its group.
    brute = np.linalg.norm(train[:, None] - train[None], axis=-1)
    brute[whole["group"][:, None] == whole["group"][None, :]] = np.inf
    np.testing.assert_allclose(whole["outside_radius"], brute.min(axis=1), rtol=1e-9)
    # Three near copies of one picture, and 40 identical pictures: more than
    # the neighbours looked at, found by their bytes.
    pictures = rng.integers(0, 256, (150, 4, 4, 3), dtype=np.uint8)
    pictures[100:140] = pictures[0]
    features = rng.standard_normal((150, 8))
    features[100:140] = features[0] + rng.standard_normal((40, 8)) * 1e-6
    features[141:144] = features[140] + rng.standard_normal((3, 8)) * 1e-3
    found = find_duplicates(features, pictures)
    assert found["counts"] == {"exact": 40, "near": 3, "groups": 2, "largest": 41}
    copy = memorization(features[:1] + 1e-5, features, duplicates=found)
    assert copy["copy"][0] and copy["nearest_group_size"][0] == 41


def test_a_training_set_of_one_picture_repeated_is_a_clear_error():
    with pytest.raises(UserInputError, match="2 different training pictures.*all 5"):
        memorization(np.zeros((3, 4)), np.ones((5, 4)))


def test_evaluate_counts_training_duplicates_and_flags_their_copies():
    from keras_genart.metrics.report import evaluate

    rng = np.random.default_rng(11)
    train = rng.integers(0, 256, (30, 4, 4, 3), dtype=np.uint8)
    train[20:23] = train[0]                                   # 3 exact copies of one
    generated = np.concatenate([train[:1], rng.integers(0, 256, (5, 4, 4, 3), np.uint8)])
    lines = []
    report, extras = evaluate(generated, train[:10], _PixelFeatures(), metrics=["novelty"],
                              train=train, log=lines.append)
    assert report["train_duplicates"] == {"exact": 3, "near": 0, "groups": 1,
                                                    "largest": 4}
    assert any("3 exact and 0 near duplicates" in line for line in lines)
    assert extras["memorization"]["copy"].tolist() == [True] + [False] * 5
    first = report["scores"]["most_copied"][0]
    assert first["generated_index"] == 0 and first["copy"] and first["train_group_size"] == 4
