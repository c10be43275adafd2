"""Quality, diversity and novelty of generated pictures, on feature vectors.

`fid`, `kid`, `precision_recall`, `density_coverage` and `memorization` take
`(n, d)` feature arrays; `keras_genart.metrics.features` turns pictures into
them. NumPy and SciPy only: importing this package loads no Keras.
"""

from keras_genart.metrics.neighbours import kth_neighbour_radii, nearest
from keras_genart.metrics.novelty import copy_pairs_image, memorization, most_copied
from keras_genart.metrics.scores import (
    density_coverage,
    feature_statistics,
    fid,
    frechet_distance,
    kid,
    precision_recall,
)

__all__ = ["copy_pairs_image", "density_coverage", "feature_statistics", "fid",
           "frechet_distance", "kid", "kth_neighbour_radii", "memorization", "most_copied",
           "nearest", "precision_recall"]
