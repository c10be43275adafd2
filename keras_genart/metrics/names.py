"""Metric and score names: what the CLI, the run config and `evaluate` accept."""

METRICS = ("fid", "kid", "pr", "dc", "novelty")

# A score that can pick the best checkpoint -> (the metric that computes it, lower is better?)
SCORES = {"fid": ("fid", True), "kid": ("kid", True), "precision": ("pr", False),
          "recall": ("pr", False), "density": ("dc", False), "coverage": ("dc", False)}
