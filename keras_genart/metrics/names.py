"""The metric names `genart evaluate --metrics` and `evaluate(metrics=...)` accept."""

METRICS = ("fid", "kid", "pr", "dc", "novelty")
