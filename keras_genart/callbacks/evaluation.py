"""Scores during `fit`: `EvaluationCallback` and a best-model checkpoint that survives resumes."""

import json
import math
import os

import keras
import numpy as np

from keras_genart.callbacks.summaries import SummaryWriter
from keras_genart.errors import UserInputError
from keras_genart.imaging import atomic_write_bytes

# Score -> the log name it gets, and whether lower is better.
LOGGED = {"fid": ("val_fid", "min"), "kid": ("val_kid", "min"),
          "precision": ("val_precision", "max"), "recall": ("val_recall", "max"),
          "density": ("val_density", "max"), "coverage": ("val_coverage", "max"),
          "copy_share": ("val_copy_share", "min"), "class_tv": ("val_class_tv", "min"),
          "rarest_class_ratio": ("val_rarest_class_ratio", "max")}


class EvaluationCallback(keras.callbacks.Callback):
    """Scores the model's pictures against real ones every few epochs, into `logs`.

    After every `every_n_epochs` epochs it generates `n` pictures from fixed
    latents, scores them (`keras_genart.metrics.evaluate`) against `n` real
    pictures whose features are computed once, and adds `val_fid`, `val_kid`,
    `val_precision`, `val_recall`, `val_density`, `val_coverage` and
    `val_copy_share` (and with `classes`, `val_class_tv` and
    `val_rarest_class_ratio`; those the metrics give) to the epoch's `logs`, so that
    `keras.callbacks.ModelCheckpoint(monitor="val_kid", mode="min")`,
    `EarlyStopping` and `History` see them; with `log_dir`, also to
    TensorBoard at the epoch's step. Put it before the callbacks that read
    the scores.

    Args:
        data: uint8 array `(m, s, s, 3)` of real pictures, or an `ImageData`.
        every_n_epochs: int. Defaults to 1.
        metrics: list of str from `keras_genart.metrics.METRICS`. Defaults to
            `["fid", "kid"]`.
        n: int. Pictures generated and real pictures used. Defaults to 1000.
        features: str. `random`, `inception` or a `.keras` path. Defaults to
            `random`.
        seed: int. Latents and the real subset. Defaults to 0.
        log_dir: str. TensorBoard folder. Defaults to None.
        classifier: str. For `classes`: `style` (the built-in style
            classifier) or a `.keras` path. Defaults to `style`.
    """

    def __init__(self, data, every_n_epochs=1, metrics=("fid", "kid"), n=1000,
                 features="random", seed=0, log_dir=None, classifier="style"):
        super().__init__()
        from keras_genart.metrics.names import check_metrics

        images = getattr(data, "images", data)
        images = np.asarray(images)
        if images.ndim != 4 or len(images) < 2:
            raise UserInputError(f"evaluation data must be pictures (m, s, s, 3), m >= 2; "
                                 f"got shape {images.shape}")
        self.n = min(int(n), len(images))
        self.real = images[np.sort(np.random.default_rng(seed).choice(
            len(images), self.n, replace=False))]
        self.train = images
        self.every = max(1, int(every_n_epochs))
        self.metrics = check_metrics(metrics)
        self.features, self.seed, self.log_dir = features, int(seed), log_dir
        self.classifier = classifier
        self._extractor = self._writer = self._classifier = None
        self.history = []

    def on_train_begin(self, logs=None):
        from keras_genart.metrics.features import get_extractor

        if self._extractor is None and set(self.metrics) - {"classes"}:
            extractor = get_extractor(self.features, seed=0)
            self._extractor = _CachedOnFixed(extractor, (self.real, self.train),
                                             extractor.identity)
        if self._classifier is None and "classes" in self.metrics:
            from types import SimpleNamespace

            from keras_genart.metrics.classifier import get_classifier

            # The real pictures' class scores, like their features, are computed once.
            classifier = get_classifier(self.classifier)
            self._classifier = SimpleNamespace(
                classify=_CachedOnFixed(classifier.classify, (self.real,)),
                class_names=classifier.class_names, identity=classifier.identity)
        if self.log_dir and self._writer is None:
            self._writer = SummaryWriter(os.path.join(self.log_dir, "train"))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        from keras_genart import imaging
        from keras_genart.metrics.report import evaluate

        generated = imaging.to_uint8(self.model.generate(self.n, seed=self.seed))
        if generated.shape[1:] != self.real.shape[1:]:
            raise UserInputError(
                f"the model makes {generated.shape[1]} px pictures, the evaluation data are "
                f"{self.real.shape[1]} px; load the data at the model's size")
        report, _ = evaluate(generated, self.real, self._extractor, self.metrics,
                             train=self.train, kid_subset_size=min(1000, self.n), seed=self.seed,
                             classifier=self._classifier)
        values = {LOGGED[k][0]: v for k, v in report["scores"].items() if k in LOGGED}
        if logs is not None:
            logs.update(values)
        self.history.append({"epoch": epoch + 1, **values})
        if self._writer is not None:
            for name, value in values.items():
                self._writer.scalar(f"epoch_{name}", value, epoch)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class _CachedOnFixed:
    """`fn` (an extractor, or a classifier's `classify`) that runs on each of the
    fixed real picture arrays only once; `identity` is the wrapped object's."""

    def __init__(self, fn, fixed, identity=None):
        self.fn, self.identity = fn, identity
        self._fixed, self._cache = fixed, {}

    def __call__(self, pictures):
        for i, images in enumerate(self._fixed):
            if pictures is images:
                if i not in self._cache:
                    self._cache[i] = self.fn(images)
                return self._cache[i]
        return self.fn(pictures)


class BestModelCheckpoint(keras.callbacks.Callback):
    """Keeps `path` (a `.keras` file) the best model so far by a logged score.

    The best value is kept in `path + ".json"` too, so a resumed run only
    replaces the file with a better model (Keras' `ModelCheckpoint` forgets
    its best value when the process ends). Saved atomically.

    Args:
        path: str. The `.keras` file.
        monitor: str. A log name, e.g. `"val_kid"`.
        mode: str. `"min"` or `"max"`.
    """

    def __init__(self, path, monitor, mode="min"):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.path, self.monitor, self.mode = os.fspath(path), monitor, mode

    @property
    def record_path(self):
        return self.path + ".json"

    def best(self):
        """The stored record `{"epoch", "monitor", "value"}`, or None."""
        if not os.path.exists(self.record_path):
            return None
        with open(self.record_path) as f:
            return json.load(f)

    def on_epoch_end(self, epoch, logs=None):
        from keras_genart.callbacks.safety import save_model_atomically

        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        record = self.best()
        if record is not None:
            better = value < record["value"] if self.mode == "min" else value > record["value"]
            if not better:
                return
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        save_model_atomically(self.model, self.path)
        atomic_write_bytes(self.record_path, json.dumps(
            {"epoch": epoch + 1, "monitor": self.monitor, "value": float(value)}).encode())
