"""`evaluate`: every metric of one generated set against real pictures, as a report."""

import time

import numpy as np

from keras_genart.errors import UserInputError
from keras_genart.metrics.classifier import class_coverage
from keras_genart.metrics.names import FEATURE_METRICS, check_metrics
from keras_genart.metrics.neighbours import nearest
from keras_genart.metrics.novelty import (
    DUPLICATE_NEIGHBOURS,
    copy_pairs_image,
    find_duplicates,
    memorization,
    most_copied,
)
from keras_genart.metrics.scores import density_coverage, fid, kid_estimate, precision_recall


def evaluate(generated, real, extractor, metrics=None, train=None, pr_k=3, dc_k=5,
             kid_subsets=100, kid_subset_size=1000, seed=0, log=None, classifier=None,
             real_labels=None):
    """Scores generated pictures against real (training) pictures.

    Args:
        generated: array `(n, h, w, 3)`, uint8 or floats in [0, 1].
        real: array `(m, h, w, 3)`, same size: the pictures the scores
            compare with.
        train: array `(t, h, w, 3)`. The whole training set, for novelty
            (a copy of a training picture left out of `real` is still a
            copy). Defaults to `real`.
        extractor: callable pictures -> `(n, d)` features with an `identity`
            (see `keras_genart.metrics.features`). May be None when only
            `classes` is asked for.
        metrics: list of str from `METRICS`. Defaults to every metric on
            features, and `classes` when a classifier is given.
        classifier: an object with `classify(pictures) -> (n, k) scores`,
            `class_names` and `identity` (see
            `keras_genart.metrics.classifier`), for `classes`.
        real_labels: int array `(m,)`: the real pictures' classes as indices
            into the classifier's `class_names`, for its accuracy. Optional.
        pr_k, dc_k: int. Neighbours for precision/recall (3) and
            density/coverage (5).
        kid_subsets, kid_subset_size: int. KID's subsets. Defaults to 100 x 1000;
            the report's `settings.kid_used` says what was computed (one
            estimate when both sets fit in a subset, see `kid_estimate`).
        seed: int. Seed of KID's subsets. Defaults to 0.
        log: callable for progress lines. Defaults to None (silent).

    Returns:
        `(report, extras)`: a JSON-ready dict (scores, settings, the
        extractor's identity, seconds per stage; with novelty the training
        set's duplicate counts in `train_duplicates`: copies of any of them
        are flagged), and a dict with the
        feature arrays and the `memorization` result (for pictures).
    """
    if metrics is None:
        metrics = list(FEATURE_METRICS) + (["classes"] if classifier is not None else [])
    metrics = check_metrics(metrics)
    if "classes" in metrics and classifier is None:
        raise UserInputError("the classes metric needs a classifier (the built-in style "
                             "classifier, or a .keras model that gives class scores)")
    if extractor is None and set(metrics) - {"classes"}:
        raise UserInputError(f"metrics {', '.join(m for m in metrics if m != 'classes')} "
                             "need a feature extractor")
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

    fake_features = real_features = None
    if set(metrics) - {"classes"}:
        fake_features = timed("features (generated)", lambda: extractor(generated))
        real_features = timed("features (real)", lambda: extractor(real))
    if "fid" in metrics:
        scores["fid"] = timed("fid", lambda: fid(fake_features, real_features))
    if "kid" in metrics:
        kid_result = timed("kid", lambda: kid_estimate(fake_features, real_features,
                                                       kid_subsets, kid_subset_size, seed))
        scores["kid"], scores["kid_std"] = kid_result["mean"], kid_result["std"]
    # One pass over the real vectors' own neighbours serves precision/recall,
    # density/coverage and (when the real set is the training set) novelty.
    separate_train = "novelty" in metrics and train is not None and train is not real
    ks = [k for k, wanted in (
        (pr_k, "pr" in metrics), (dc_k, "dc" in metrics),
        (min(DUPLICATE_NEIGHBOURS, len(real) - 1), "novelty" in metrics and not separate_train))
        if wanted]
    real_neighbours = None
    if ks:
        real_neighbours = timed("neighbours (real)", lambda: nearest(
            real_features, real_features, k=max(ks), exclude_self=True))
    if "pr" in metrics:
        scores["precision"], scores["recall"] = timed(
            "precision/recall", lambda: precision_recall(
                fake_features, real_features, pr_k, real_radii=real_neighbours[0][:, pr_k - 1]))
    if "dc" in metrics:
        scores["density"], scores["coverage"] = timed(
            "density/coverage", lambda: density_coverage(
                fake_features, real_features, dc_k, real_radii=real_neighbours[0][:, dc_k - 1]))
    copies, train_features, duplicates = None, real_features, None
    if "novelty" in metrics:
        if separate_train:
            train_features = timed("features (training set)", lambda: extractor(train))
        duplicates = timed("duplicates (training set)", lambda: find_duplicates(
            train_features, train if separate_train else real,
            neighbours=None if separate_train else real_neighbours))
        counts = duplicates["counts"]
        say(f"  training set: {counts['exact']} exact and {counts['near']} near duplicates"
            f" (groups: {counts['groups']}, largest: {counts['largest']})")
        copies = timed("novelty", lambda: memorization(fake_features, train_features,
                                                        duplicates=duplicates))
        scores.update(_novelty_scores(copies))
    predicted = None
    if "classes" in metrics:
        fake_probs = timed("classes (generated)", lambda: classifier.classify(generated))
        real_probs = timed("classes (real)", lambda: classifier.classify(real))
        scores.update(class_coverage(fake_probs, real_probs, classifier.class_names,
                                     real_labels=real_labels))
        predicted = fake_probs.argmax(1)
    report = {
        "scores": scores,
        "features": extractor.identity if extractor is not None else None,
        "settings": {"metrics": metrics, "precision_recall_k": pr_k, "density_coverage_k": dc_k,
                     "kid_subsets": kid_subsets, "kid_subset_size": kid_subset_size,
                     "seed": seed, "copy_ratio": 1 / 3},
        "counts": {"generated": len(generated), "real": len(real),
                   "train": len(train) if train is not None else len(real)},
        "image_size": int(generated.shape[1]),
        "seconds": timings,
    }
    if duplicates is not None:
        report["train_duplicates"] = duplicates["counts"]
    if "kid" in metrics:
        report["settings"]["kid_used"] = {key: kid_result[key]
                                          for key in ("subsets", "subset_size", "std_of")}
    if classifier is not None and "classes" in metrics:
        report["classifier"] = classifier.identity
    return report, {"generated_features": fake_features, "real_features": real_features,
                    "memorization": copies, "train": real if train is None else train,
                    "predicted_classes": predicted,
                    "class_names": classifier.class_names if predicted is not None else None}


def _novelty_scores(copies):
    """The report's novelty scores from a `memorization` result."""
    return {
        "copy_share": copies["copy_share"],
        "authenticity": copies["authenticity"],
        "nearest_distance_quantiles": copies["distance_quantiles"],
        "most_copied": [
            {"generated_index": int(i), "train_index": int(copies["nearest_index"][i]),
             "train_group_size": int(copies["nearest_group_size"][i]),
             "distance": float(copies["nearest_distance"][i]),
             "distance_ratio": float(copies["distance_ratio"][i]),
             "copy": bool(copies["copy"][i])} for i in most_copied(copies, 8)],
    }


def report_picture(generated, real, extras, n_samples=64, n_pairs=8, per_class=8):
    """A PNG-ready picture: a sample grid, (with novelty) the most copy-like pairs
    and (with classes) a row of generated pictures per class."""
    from keras_genart import imaging

    panels = [imaging.make_grid(generated[:n_samples])[..., :3]]
    copies = extras.get("memorization")
    if copies is not None:
        panels.append(copy_pairs_image(generated, extras.get("train", real), copies, n=n_pairs))
    if extras.get("predicted_classes") is not None:
        panels.append(class_rows_image(generated, extras["predicted_classes"],
                                       extras["class_names"], per_class))
    height = max(p.shape[0] for p in panels)
    width = sum(p.shape[1] for p in panels) + 8 * (len(panels) - 1)
    canvas = np.full((height, width, 3), 255, np.uint8)
    left = 0
    for panel in panels:
        canvas[:panel.shape[0], left:left + panel.shape[1]] = panel
        left += panel.shape[1] + 8
    return canvas


def class_rows_image(generated, predicted, class_names, per_class=8, padding=2):
    """One row per class: its name, then up to `per_class` generated pictures the
    classifier gives to it (blank where it gives fewer)."""
    from PIL import Image, ImageDraw

    from keras_genart import imaging

    generated = np.asarray(generated)
    if generated.dtype != np.uint8:
        generated = imaging.to_uint8(generated)
    h, w = generated.shape[1:3]
    label_width = 8 + 6 * max(len(n) for n in class_names)
    rows = []
    for k, name in enumerate(class_names):
        chosen = np.flatnonzero(predicted == k)[:per_class]
        tiles = np.full((per_class, h, w, 3), 255, np.uint8)
        tiles[:len(chosen)] = generated[chosen, ..., :3]
        row = imaging.make_grid(tiles, cols=per_class, padding=padding)
        label = Image.new("RGB", (label_width, row.shape[0]), (255, 255, 255))
        ImageDraw.Draw(label).text((4, max(0, row.shape[0] // 2 - 6)), name, fill=(0, 0, 0))
        rows.append(np.concatenate([np.asarray(label), row], axis=1))
    return np.concatenate(rows, axis=0)
