"""Metric and score names: what the CLI, the run config and `evaluate` accept."""

from keras_genart.errors import UserInputError

METRICS = ("fid", "kid", "pr", "dc", "novelty", "classes")

# What `evaluate` computes when not told: every metric on features; `classes`
# too when a classifier is given.
FEATURE_METRICS = METRICS[:5]

# A score that can pick the best checkpoint -> (the metric that computes it, lower is better?)
SCORES = {"fid": ("fid", True), "kid": ("kid", True), "precision": ("pr", False),
          "recall": ("pr", False), "density": ("dc", False), "coverage": ("dc", False),
          "class_tv": ("classes", True)}


def check_metrics(names):
    """The metric names without repeats, or an error naming the unknown ones."""
    names = list(dict.fromkeys(names))
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise UserInputError(
            f"unknown metric {', '.join(unknown) or '(none)'}; choose from {', '.join(METRICS)}")
    return names
