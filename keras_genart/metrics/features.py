"""Feature extractors: pictures -> vectors for the metrics.

- `random` (default): a fixed-seed, randomly initialised convolutional network
  whose weights come from NumPy (the same on every backend and machine).
  Naeem et al. 2020 (https://arxiv.org/abs/2002.09797) show that random
  embeddings rank generative models sensibly; it needs nothing downloaded.
- `inception`: Keras' InceptionV3 pool features (2048-d, 299 px) with
  ImageNet weights from a local file or Keras' cache. Scores from it are
  *not* the published FID protocol, which uses the 2015 TF Inception graph.
- `classifier`: the built-in style classifier's 128-d features
  (`keras_genart.metrics.classifier`), a domain feature space for `builtin:` data.
- a `.keras` file: any user model that maps pictures to vectors.

Each extractor is called on pictures `(n, h, w, 3)` (uint8, or floats in
[0, 1]) and returns float32 `(n, d)`; `identity` says what it is, for reports.
"""

import os

import numpy as np

from keras_genart.errors import UserInputError
from keras_genart.metrics.classifier import StyleClassifier
from keras_genart.metrics.extractor import KerasExtractor, KerasModelFeatures

INCEPTION_WEIGHTS = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


class RandomFeatures(KerasExtractor):
    """A fixed-seed random conv net: resize to 64 px, four stride-2 3x3 convolutions
    (32, 64, 128, 256 filters, ReLU, He-normal weights drawn by NumPy), then mean and
    max pooling: 512 features.

    Args:
        seed: int. Seed of the weights. Defaults to 0.
    """

    name, version, dim, input_size = "random", 1, 512, 64
    widths = (32, 64, 128, 256)

    def __init__(self, seed=0):
        import keras

        self.seed = int(seed)
        inputs = keras.Input((None, None, 3))
        x = keras.layers.Resizing(self.input_size, self.input_size,
                                  interpolation="bilinear")(inputs)
        x = keras.layers.Rescaling(2.0, offset=-1.0)(x)
        convs = []
        for width in self.widths:
            conv = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")
            x = conv(x)
            convs.append(conv)
        x = keras.layers.Concatenate()([keras.layers.GlobalAveragePooling2D()(x),
                                        keras.layers.GlobalMaxPooling2D()(x)])
        self.model = keras.Model(inputs, x, name="random_features")
        rng = np.random.default_rng(self.seed)
        for conv in convs:
            kernel, bias = conv.get_weights()
            fan_in = np.prod(kernel.shape[:-1])
            conv.set_weights([rng.standard_normal(kernel.shape).astype(np.float32)
                              * np.float32(np.sqrt(2.0 / fan_in)), np.zeros_like(bias)])

    @property
    def identity(self):
        return {"name": self.name, "version": self.version, "seed": self.seed, "dim": self.dim,
                "input_size": self.input_size}


class InceptionFeatures(KerasExtractor):
    """Keras' InceptionV3 average-pool features (2048-d) at 299 px.

    Args:
        weights: str. Path of the no-top ImageNet weights
            (`inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`).
            Defaults to Keras' cache (`~/.keras/models/`). `"random"` builds
            the network with random weights (for tests only). Nothing is
            ever downloaded.
    """

    name, version, dim, input_size = "inception", 1, 2048, 299
    batch_size = 32

    def __init__(self, weights=None):
        import keras

        if weights != "random":
            weights = weights or os.path.join(
                os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")), "models",
                INCEPTION_WEIGHTS)
            if not os.path.exists(weights):
                raise UserInputError(
                    f"InceptionV3 weights not found at '{weights}'; keras_genart never "
                    "downloads. On a machine with internet run `python -c \"import keras; "
                    "keras.applications.InceptionV3(include_top=False)\"` and copy "
                    f"~/.keras/models/{INCEPTION_WEIGHTS} here, or pass --feature-weights "
                    "PATH; or use --features random")
        self.weights = weights
        self.model = keras.applications.InceptionV3(
            include_top=False, weights=None, pooling="avg", input_shape=(299, 299, 3))
        if weights != "random":
            try:
                self.model.load_weights(weights)
            except Exception as e:
                raise UserInputError(f"cannot load InceptionV3 weights from '{weights}': {e}") from e

    def preprocess(self, images):
        from keras import ops

        images = ops.image.resize(images, (self.input_size, self.input_size),
                                  interpolation="bilinear", antialias=True)
        return images * 2.0 - 1.0  # keras.applications.inception_v3.preprocess_input

    @property
    def identity(self):
        return {"name": self.name, "version": self.version, "dim": self.dim,
                "weights": "random (test only)" if self.weights == "random"
                else os.path.abspath(self.weights),
                "note": "Keras' ImageNet InceptionV3, not the TF 2015 Inception graph of the "
                        "published FID protocol: compare these scores only with each other"}


def get_extractor(spec="random", weights=None, seed=0):
    """An extractor by name (`random`, `inception`, `classifier`) or from a `.keras` path.

    `weights` is Inception's weights file, or the classifier's `.npz`.
    """
    if spec == "random":
        return RandomFeatures(seed)
    if spec == "inception":
        return InceptionFeatures(weights)
    if spec == "classifier":
        return StyleClassifier(weights)
    if isinstance(spec, str) and spec.endswith(".keras"):
        return KerasModelFeatures(spec)
    raise UserInputError(
        f"unknown feature extractor {spec!r}; choose random, inception, classifier or a "
        ".keras file")
