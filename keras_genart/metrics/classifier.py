"""The `classifier` features: a small style classifier of the built-in art set.

Its weights ship with the package (`style_classifier.npz`, about 350 KB,
float32 arrays that load on every backend); they were made by this module's
`train_style_classifier` on built-in pictures only, which anyone can run again:

    python -m keras_genart.metrics.classifier [--out PATH]

It serves two ends:
- features: the 128-d layer before the class scores, a domain feature space
  for `builtin:` data (`--features classifier`);
- class coverage: the share of generated pictures it gives to each style,
  against the share it gives to the real pictures (`--metrics classes`).

Any `.keras` model that maps pictures to class scores can be the classifier
instead (`KerasClassifier`).
"""

import hashlib
import os

import numpy as np

from keras_genart.errors import UserInputError
from keras_genart.metrics.extractor import KerasExtractor, KerasModelFeatures, unit_float_batches

WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "style_classifier.npz")
INPUT_SIZE = 32
WIDTHS = (16, 32, 64, 96)
FEATURES = 128


def build_network(num_classes):
    """The classifier: pictures in [0, 1] at 32 px -> (features, class logits)."""
    import keras

    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3))
    x = keras.layers.Rescaling(2.0, offset=-1.0)(inputs)
    for i, width in enumerate(WIDTHS):
        x = keras.layers.Conv2D(width, 3, strides=1 if i == 0 else 2, padding="same",
                                activation="relu", name=f"conv{i}")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    features = keras.layers.Dense(FEATURES, activation="relu", name="features")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(features)
    return keras.Model(inputs, [features, logits], name="style_classifier")


def _resize(images):
    from keras import ops

    if images.shape[1] == INPUT_SIZE and images.shape[2] == INPUT_SIZE:
        return images
    return ops.image.resize(images, (INPUT_SIZE, INPUT_SIZE), interpolation="bilinear",
                            antialias=True)


def _softmax(logits):
    logits = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


class StyleClassifier(KerasExtractor):
    """The built-in style classifier, as a feature extractor and a classifier.

    Args:
        weights: str. An `.npz` written by `train_style_classifier`. Defaults
            to the one shipped with the package.

    Attributes:
        class_names: the styles, in the order of the built-in labels.
    """

    name, version, dim, input_size = "classifier", 1, FEATURES, INPUT_SIZE

    def __init__(self, weights=None):
        import keras

        self.path = weights or WEIGHTS
        if not os.path.exists(self.path):
            raise UserInputError(
                f"style classifier weights not found at '{self.path}'; make them with "
                "`python -m keras_genart.metrics.classifier --out PATH`")
        try:
            with np.load(self.path, allow_pickle=False) as saved:
                arrays = [saved[f"w{i}"] for i in range(int(saved["count"]))]
                self.class_names = [str(n) for n in saved["class_names"]]
                self.accuracy = float(saved["held_out_accuracy"])
        except (OSError, KeyError, ValueError) as e:
            raise UserInputError(f"'{self.path}' is not a style classifier file: {e}") from e
        self.network = build_network(len(self.class_names))
        expected = [tuple(w.shape) for w in self.network.weights]
        if [a.shape for a in arrays] != expected:
            raise UserInputError(f"'{self.path}' holds weights of other shapes than the "
                                 f"classifier of this version ({len(expected)} arrays)")
        self.network.set_weights(arrays)
        with open(self.path, "rb") as f:
            self.sha256 = hashlib.sha256(f.read()).hexdigest()
        self.model = keras.Model(self.network.input, self.network.output[0])

    def preprocess(self, images):
        return _resize(images)

    def classify(self, images, batch_size=256):
        """Class probabilities `(n, classes)` of pictures (uint8 or [0, 1] floats)."""
        from keras import ops

        out = [np.asarray(ops.convert_to_numpy(
            self.network(_resize(batch), training=False)[1]), np.float64)
            for _, batch in unit_float_batches(images, batch_size)]
        return _softmax(np.concatenate(out)) if out else np.zeros((0, len(self.class_names)))

    @property
    def identity(self):
        return {"name": self.name, "version": self.version, "dim": self.dim,
                "input_size": self.input_size, "classes": self.class_names,
                "weights_sha256": self.sha256[:16],
                "held_out_accuracy": round(self.accuracy, 4)}


class KerasClassifier:
    """A user's `.keras` model that maps pictures (in [0, 1]) to class scores.

    Scores may be logits or probabilities; the highest wins.

    Args:
        path: str. The `.keras` file.
        class_names: list of str. Names of its outputs, in order. Defaults
            to "class 0", "class 1", ...
    """

    def __init__(self, path, class_names=None):
        self._model = KerasModelFeatures(path)
        count = self._model.dim
        if class_names is not None and len(class_names) != count:
            raise UserInputError(f"classifier '{path}' gives {count} class scores but the data "
                                 f"has {len(class_names)} classes ({', '.join(class_names)})")
        self.class_names = list(class_names or [f"class {i}" for i in range(count)])
        self.path = path

    def classify(self, images):
        scores = np.asarray(self._model(images), np.float64)
        if not np.isfinite(scores).all():
            raise UserInputError(f"classifier '{self.path}' gave NaN or infinite scores")
        return scores

    @property
    def identity(self):
        return {"name": "keras_classifier", "path": os.path.abspath(self.path),
                "classes": self.class_names}


def get_classifier(spec="style", class_names=None):
    """`style` (the built-in style classifier) or a `.keras` path."""
    if spec in (None, "style", "classifier"):
        return StyleClassifier()
    if isinstance(spec, str) and spec.endswith(".keras"):
        return KerasClassifier(spec, class_names)
    raise UserInputError(f"unknown classifier {spec!r}; choose style or a .keras file")


def class_coverage(generated_probs, real_probs, class_names, real_labels=None, cover_ratio=0.25):
    """How the generated pictures spread over the classes, against the real ones.

    Each picture counts for the class with the highest score. The real
    shares are the classifier's on the real pictures (so that its mistakes
    fall on both sides alike).

    Args:
        generated_probs, real_probs: `(n, k)` and `(m, k)` class scores.
        class_names: list of k str.
        real_labels: int array `(m,)` of the real pictures' true classes
            (indices into `class_names`), or None. When given, the
            classifier's accuracy on them is reported too.
        cover_ratio: float. A class is covered when its generated share is
            at least this part of its real share. Defaults to 0.25.

    Returns:
        dict: `class_share` and `real_class_share` (name -> share),
        `classes_covered` (count of classes with a real share that are
        covered), `classes_present` (classes with a real share),
        `class_tv` (total variation distance of the two shares, 0 = same
        spread, 1 = disjoint), `rarest_class_ratio` (the smallest generated
        / real share ratio) and, with labels, `classifier_accuracy`.
    """
    generated_probs, real_probs = np.asarray(generated_probs), np.asarray(real_probs)
    k = len(class_names)
    for name, probs in (("generated", generated_probs), ("real", real_probs)):
        if probs.ndim != 2 or probs.shape[1] != k or len(probs) == 0:
            raise UserInputError(f"{name} class scores must be (n, {k}), got {probs.shape}")
    fake = np.bincount(generated_probs.argmax(1), minlength=k) / len(generated_probs)
    real = np.bincount(real_probs.argmax(1), minlength=k) / len(real_probs)
    present = real > 0
    ratios = fake[present] / real[present]
    result = {
        "class_share": {n: float(s) for n, s in zip(class_names, fake)},
        "real_class_share": {n: float(s) for n, s in zip(class_names, real)},
        "classes_covered": int((ratios >= cover_ratio).sum()),
        "classes_present": int(present.sum()),
        "class_tv": float(0.5 * np.abs(fake - real).sum()),
        "rarest_class_ratio": float(ratios.min()),
    }
    if real_labels is not None:
        real_labels = np.asarray(real_labels)
        if real_labels.shape != (len(real_probs),):
            raise UserInputError(f"real labels must be ({len(real_probs)},), "
                                 f"got {real_labels.shape}")
        result["classifier_accuracy"] = float((real_probs.argmax(1) == real_labels).mean())
    return result


def _training_pictures(num_images, seed):
    """Built-in pictures at 32 px, a third of them drawn at 16 px and enlarged
    (as a small model's pictures look), with labels."""
    from PIL import Image

    from keras_genart.data.builtin_art import make_art

    images, labels, names = make_art("abstract", num_images, image_size=INPUT_SIZE, seed=seed)
    small, small_labels, _ = make_art("abstract", num_images // 3, image_size=16, seed=seed + 1)
    enlarged = np.stack([np.asarray(Image.fromarray(p).resize((INPUT_SIZE, INPUT_SIZE),
                                                              Image.BILINEAR)) for p in small])
    return (np.concatenate([images, enlarged]), np.concatenate([labels, small_labels]), names)


def train_style_classifier(out=WEIGHTS, num_images=6000, epochs=8, seed=0, log=print):
    """Trains the style classifier on built-in pictures and writes its `.npz`.

    The pictures are drawn from seed `seed`; the accuracy is measured on
    1,000 pictures of another seed and saved with the weights. Training
    adds flips and a little noise so that it judges blurry, noisy model
    pictures by their style.

    Returns:
        float: the held-out accuracy.
    """
    import keras

    from keras_genart.data.builtin_art import make_art

    keras.utils.set_random_seed(seed)
    images, labels, names = _training_pictures(num_images, seed)
    rng = np.random.default_rng(seed)
    x = images.astype(np.float32) / 255.0
    flip = rng.random(len(x)) < 0.5
    x[flip] = x[flip, :, ::-1]
    x = np.clip(x + rng.normal(0, 1, x.shape).astype(np.float32)
                * rng.uniform(0, 0.06, (len(x), 1, 1, 1)).astype(np.float32), 0, 1)
    network = build_network(len(names))
    trainer = keras.Model(network.input, network.output[1])
    trainer.compile(keras.optimizers.Adam(2e-3),
                    keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=["accuracy"])
    trainer.fit(x, labels, batch_size=64, epochs=epochs, shuffle=True,
                verbose=2 if log else 0)
    held, held_labels, _ = make_art("abstract", 1000, image_size=INPUT_SIZE, seed=seed + 10_000)
    logits = np.asarray(trainer.predict(held.astype(np.float32) / 255.0, verbose=0))
    accuracy = float((logits.argmax(1) == held_labels).mean())
    weights = {f"w{i}": np.asarray(w, np.float32) for i, w in enumerate(network.get_weights())}
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = f"{out}.tmp.npz"
    np.savez_compressed(tmp, count=len(weights), class_names=np.array(names),
                        held_out_accuracy=accuracy, seed=seed, num_images=num_images,
                        **weights)
    os.replace(tmp, out)
    if log:
        log(f"held-out accuracy {accuracy:.4f}; wrote {out}")
    return accuracy


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description="train the built-in style classifier")
    parser.add_argument("--out", default=WEIGHTS, help="the .npz to write (default: %(default)s)")
    parser.add_argument("--num-images", type=int, default=6000, help="(default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=8, help="(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    args = parser.parse_args(argv)
    train_style_classifier(args.out, args.num_images, args.epochs, args.seed)


if __name__ == "__main__":
    main()
