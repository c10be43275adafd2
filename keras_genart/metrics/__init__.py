"""Quality, diversity and novelty of generated pictures, on feature vectors.

`fid`, `kid`, `precision_recall`, `density_coverage` and `memorization` take
`(n, d)` feature arrays (NumPy and SciPy only); `keras_genart.metrics.features`
turns pictures into them, and `evaluate` runs them all into a report. Names
load lazily: importing the package loads neither SciPy nor Keras.
"""

from keras_genart._lazy import lazy_getattr
from keras_genart.metrics.names import METRICS

_LAZY = {
    "nearest": "keras_genart.metrics.neighbours",
    "kth_neighbour_radii": "keras_genart.metrics.neighbours",
    "memorization": "keras_genart.metrics.novelty",
    "most_copied": "keras_genart.metrics.novelty",
    "copy_pairs_image": "keras_genart.metrics.novelty",
    "feature_statistics": "keras_genart.metrics.scores",
    "frechet_distance": "keras_genart.metrics.scores",
    "fid": "keras_genart.metrics.scores",
    "kid": "keras_genart.metrics.scores",
    "precision_recall": "keras_genart.metrics.scores",
    "density_coverage": "keras_genart.metrics.scores",
    "evaluate": "keras_genart.metrics.report",
    "get_extractor": "keras_genart.metrics.features",
    "RandomFeatures": "keras_genart.metrics.features",
    "InceptionFeatures": "keras_genart.metrics.features",
    "KerasModelFeatures": "keras_genart.metrics.features",
    "StyleClassifier": "keras_genart.metrics.classifier",
    "KerasClassifier": "keras_genart.metrics.classifier",
    "get_classifier": "keras_genart.metrics.classifier",
    "class_coverage": "keras_genart.metrics.classifier",
}

__all__ = ["METRICS", *sorted(_LAZY)]

__getattr__ = lazy_getattr(__name__, _LAZY, globals())
