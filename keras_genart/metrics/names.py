"""Metric and score names: kept in `keras_genart.options` with the other option lists
(the run config reads them without importing the metrics); here for older imports."""

from keras_genart.options import FEATURE_METRICS, METRICS, SCORES, check_metrics

__all__ = ["FEATURE_METRICS", "METRICS", "SCORES", "check_metrics"]
