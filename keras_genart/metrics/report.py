"""`evaluate`: every metric of one generated set against real pictures, as a report."""

import time

import numpy as np

from keras_genart.errors import UserInputError
from keras_genart.metrics.names import METRICS, check_metrics
from keras_genart.metrics.neighbours import nearest
from keras_genart.metrics.novelty import copy_pairs_image, memorization, most_copied
from keras_genart.metrics.scores import density_coverage, fid, kid, precision_recall

def evaluate(generated, real, extractor, metrics=METRICS, train=None, pr_k=3, dc_k=5,
             kid_subsets=100, kid_subset_size=1000, seed=0, log=None):
    """Scores generated pictures against real (training) pictures.

    Args:
        generated: array `(n, h, w, 3)`, uint8 or floats in [0, 1].
        real: array `(m, h, w, 3)`, same size: the pictures the scores
            compare with.
        train: array `(t, h, w, 3)`. The whole training set, for novelty
            (a copy of a training picture left out of `real` is still a
            copy). Defaults to `real`.
        extractor: callable pictures -> `(n, d)` features with an `identity`
            (see `keras_genart.metrics.features`).
        metrics: list of str from `METRICS`. Defaults to all.
        pr_k, dc_k: int. Neighbours for precision/recall (3) and
            density/coverage (5).
        kid_subsets, kid_subset_size: int. KID's subsets. Defaults to 100 x 1000.
        seed: int. Seed of KID's subsets. Defaults to 0.
        log: callable for progress lines. Defaults to None (silent).

    Returns:
        `(report, extras)`: a JSON-ready dict (scores, settings, the
        extractor's identity, seconds per stage), and a dict with the
        feature arrays and the `memorization` result (for pictures).
    """
    metrics = check_metrics(metrics)
    generated, real = np.asarray(generated), np.asarray(real)
    for name, images in (("generated", generated), ("real", real)):
        if images.ndim != 4 or images.shape[-1] != 3 or len(images) == 0:
            raise UserInputError(f"{name} pictures must be a non-empty (n, h, w, 3) array, "
                                 f"got shape {images.shape}")
    if generated.shape[1:] != real.shape[1:]:
        raise UserInputError(
            f"generated pictures are {generated.shape[1]}x{generated.shape[2]} but the real "
            f"ones {real.shape[1]}x{real.shape[2]}; load both at one size")
    say = log or (lambda *_: None)
    timings, scores = {}, {}

    def timed(stage, fn):
        start = time.perf_counter()
        value = fn()
        timings[stage] = round(time.perf_counter() - start, 3)
        say(f"  {stage}: {timings[stage]:.1f} s")
        return value

    fake_features = timed("features (generated)", lambda: extractor(generated))
    real_features = timed("features (real)", lambda: extractor(real))
    if "fid" in metrics:
        scores["fid"] = timed("fid", lambda: fid(fake_features, real_features))
    if "kid" in metrics:
        mean, std = timed("kid", lambda: kid(fake_features, real_features, kid_subsets,
                                             kid_subset_size, seed))
        scores["kid"], scores["kid_std"] = mean, std
    # One pass over the real vectors' own neighbours serves precision/recall,
    # density/coverage and (when the real set is the training set) novelty.
    separate_train = "novelty" in metrics and train is not None and train is not real
    ks = [k for k, wanted in ((pr_k, "pr" in metrics), (dc_k, "dc" in metrics),
                              (1, "novelty" in metrics and not separate_train)) if wanted]
    real_neighbours = None
    if ks:
        real_neighbours = timed("neighbours (real)", lambda: nearest(
            real_features, real_features, k=max(ks), exclude_self=True)[0])
    if "pr" in metrics:
        scores["precision"], scores["recall"] = timed(
            "precision/recall", lambda: precision_recall(
                fake_features, real_features, pr_k, real_radii=real_neighbours[:, pr_k - 1]))
    if "dc" in metrics:
        scores["density"], scores["coverage"] = timed(
            "density/coverage", lambda: density_coverage(
                fake_features, real_features, dc_k, real_radii=real_neighbours[:, dc_k - 1]))
    copies, train_features = None, real_features
    if "novelty" in metrics:
        train_radii = None if separate_train else real_neighbours[:, 0]
        if separate_train:
            train_features = timed("features (training set)", lambda: extractor(train))
        copies = timed("novelty", lambda: memorization(fake_features, train_features,
                                                        train_radii=train_radii))
        scores["copy_share"] = copies["copy_share"]
        scores["authenticity"] = copies["authenticity"]
        scores["nearest_distance_quantiles"] = copies["distance_quantiles"]
        scores["most_copied"] = [
            {"generated_index": int(i), "train_index": int(copies["nearest_index"][i]),
             "distance": float(copies["nearest_distance"][i]),
             "distance_ratio": float(copies["distance_ratio"][i]),
             "copy": bool(copies["copy"][i])} for i in most_copied(copies, 8)]
    report = {
        "scores": scores,
        "features": extractor.identity,
        "settings": {"metrics": metrics, "precision_recall_k": pr_k, "density_coverage_k": dc_k,
                     "kid_subsets": kid_subsets, "kid_subset_size": kid_subset_size,
                     "seed": seed, "copy_ratio": 1 / 3},
        "counts": {"generated": len(generated), "real": len(real),
                   "train": len(train) if train is not None else len(real)},
        "image_size": int(generated.shape[1]),
        "seconds": timings,
    }
    return report, {"generated_features": fake_features, "real_features": real_features,
                    "memorization": copies, "train": real if train is None else train}


def report_picture(generated, real, extras, n_samples=64, n_pairs=8):
    """A PNG-ready picture: a sample grid, and (with novelty) the most copy-like pairs."""
    from keras_genart import imaging

    grid = imaging.make_grid(generated[:n_samples])
    copies = extras.get("memorization")
    if copies is None:
        return grid
    pairs = copy_pairs_image(generated, extras.get("train", real), copies, n=n_pairs)
    height = max(grid.shape[0], pairs.shape[0])
    canvas = np.full((height, grid.shape[1] + 8 + pairs.shape[1], 3), 255, np.uint8)
    canvas[:grid.shape[0], :grid.shape[1]] = grid[..., :3]
    canvas[:pairs.shape[0], grid.shape[1] + 8:] = pairs
    return canvas
