"""Feature extractors, the evaluate report and `genart evaluate`."""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from keras_genart.cli import main
from keras_genart.errors import UserInputError
from keras_genart.metrics.features import (
    InceptionFeatures,
    KerasModelFeatures,
    RandomFeatures,
    get_extractor,
)
from keras_genart.metrics.report import evaluate, report_picture

PICTURES = np.random.default_rng(0).integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)


def test_random_features_are_fixed_and_batch_independent():
    a, b = RandomFeatures(seed=0), RandomFeatures(seed=0)
    fa = a(PICTURES)
    assert fa.shape == (12, 512) and fa.dtype == np.float32
    np.testing.assert_allclose(fa, b(PICTURES), rtol=1e-6)
    a.batch_size = 5
    np.testing.assert_allclose(a(PICTURES), fa, rtol=1e-5, atol=1e-6)
    assert not np.allclose(RandomFeatures(seed=1)(PICTURES), fa)
    # uint8 and [0, 1] floats are the same pictures.
    np.testing.assert_allclose(a(PICTURES.astype("float32") / 255.0), fa, rtol=1e-5, atol=1e-6)
    assert a.identity == {"name": "random", "version": 1, "seed": 0, "dim": 512,
                          "input_size": 64}


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
                    reason="Keras' own InceptionV3 network: checked once, on TensorFlow")
def test_inception_architecture_and_preprocessing_on_random_weights(tmp_path):
    extractor = InceptionFeatures("random")
    pre = np.asarray(keras.ops.convert_to_numpy(
        extractor.preprocess(PICTURES[:2].astype("float32") / 255.0)))
    assert pre.shape == (2, 299, 299, 3) and -1.0 <= pre.min() and pre.max() <= 1.0
    features = extractor(PICTURES[:2])
    assert features.shape == (2, 2048) and np.isfinite(features).all()
    assert "not the TF 2015 Inception graph" in extractor.identity["note"]
    with pytest.raises(UserInputError, match="never downloads.*--features random"):
        InceptionFeatures(str(tmp_path / "missing.h5"))


def test_any_keras_model_can_be_the_extractor(tmp_path):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(inputs)))
    model.save(tmp_path / "f.keras")
    extractor = get_extractor(str(tmp_path / "f.keras"))
    assert isinstance(extractor, KerasModelFeatures)
    assert extractor(PICTURES).shape == (12, 4)   # 16 px pictures resized to 8 px
    flat = keras.Input((5,))
    keras.Model(flat, keras.layers.Dense(2)(flat)).save(tmp_path / "bad.keras")
    with pytest.raises(UserInputError, match="must take pictures"):
        get_extractor(str(tmp_path / "bad.keras"))
    with pytest.raises(UserInputError, match="unknown feature extractor 'vgg'"):
        get_extractor("vgg")


def test_report_scores_and_refuses_mismatched_sizes():
    report, extras = evaluate(PICTURES[:6], PICTURES[6:], RandomFeatures(),
                              metrics=["fid", "pr", "novelty"], pr_k=2)
    assert set(report["scores"]) >= {"fid", "precision", "recall", "copy_share",
                                     "authenticity", "most_copied"}
    assert "kid" not in report["scores"] and report["features"]["name"] == "random"
    assert set(report["seconds"]) >= {"features (generated)", "fid", "novelty"}
    json.dumps(report)  # JSON-ready
    with pytest.raises(UserInputError, match="generated pictures are 16x16 but the real ones 8x8"):
        evaluate(PICTURES, PICTURES[:, :8, :8], RandomFeatures())


def _tiny_model(path):
    from keras_genart.models import build_model

    model = build_model("dcgan", image_size=16, latent_dim=8, base_width=8, seed=0)
    model.save(path)
    return path


@pytest.mark.skipif(keras.backend.backend() == "jax",
                    reason="the command's report, the same on every backend (the features "
                           "and the callback on JAX: the tests below)")
def test_genart_evaluate_a_model_and_a_folder(tmp_path, capsys):
    model = _tiny_model(tmp_path / "m.keras")
    out = tmp_path / "r" / "report.json"
    args = ["--data", "builtin:mondrian:40", "--n", "16", "--out", str(out)]
    assert main(["evaluate", str(model), *args]) == 0
    report = json.loads(out.read_text())
    assert report["counts"] == {"generated": 16, "real": 16, "train": 40}
    assert {"fid", "kid", "precision", "recall", "density", "coverage", "copy_share"} \
        <= set(report["scores"])
    assert report["generated"]["kind"] == "keras" and report["real"]["used"] == 16
    picture = Image.open(out.with_suffix(".png"))
    assert min(picture.size) > 4 * 16  # sample grid beside the copy-like pairs
    # Pictures from any tool, in a folder.
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i, image in enumerate(PICTURES):
        Image.fromarray(image).save(folder / f"{i}.png")
    assert main(["evaluate", "--generated", str(folder), "--image-size", "16",
                 "--metrics", "fid,novelty", *args]) == 0
    assert json.loads(out.read_text())["counts"]["generated"] == 12
    capsys.readouterr()


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
                    reason="the export fixture needs TensorFlow's backend")
def test_genart_evaluate_an_exported_version(tmp_path, capsys, exported):
    # Scored through onnxruntime, the same pictures `genart serve` makes.
    out = tmp_path / "report.json"
    assert main(["evaluate", str(exported["version_dir"]), "--metrics", "pr,novelty",
                 "--data", "builtin:mondrian:40", "--n", "16", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["generated"]["kind"] == "exported" and "precision" in report["scores"]
    capsys.readouterr()


@pytest.mark.parametrize("extra,message", [
    (["--n", "500"], "--n 500 is more than the 40 pictures"),
    (["--generated", "EMPTY"], "no usable image in folder"),
    (["--metrics", "fid,sharpness"], "unknown metric sharpness"),
])
def test_genart_evaluate_bad_input_is_one_line(extra, message, tmp_path, capsys):
    model = _tiny_model(tmp_path / "m.keras")
    (tmp_path / "empty").mkdir()
    extra = [str(tmp_path / "empty") if e == "EMPTY" else e for e in extra]
    target = [] if "--generated" in extra else [str(model)]
    with pytest.raises(SystemExit) if "--metrics" in extra else _nothing():
        code = main(["evaluate", *target, "--data", "builtin:mondrian:40",
                     "--out", str(tmp_path / "r.json"), *extra])
        assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_evaluation_callback_feeds_logs_checkpoints_and_tensorboard(tmp_path):
    from keras_genart.callbacks import BestModelCheckpoint, EvaluationCallback, read_events
    from keras_genart.data import load_images, make_dataset
    from keras_genart.models import build_model

    data = load_images("builtin:mondrian:24", image_size=16)
    model = build_model("dcgan", image_size=16, latent_dim=8, base_width=8, seed=0)
    model.compile()
    evaluation = EvaluationCallback(data, every_n_epochs=2, metrics=["kid", "pr"], n=12,
                                    log_dir=str(tmp_path / "logs"))
    best = BestModelCheckpoint(tmp_path / "best.keras", "val_kid", "min")
    keras_best = keras.callbacks.ModelCheckpoint(tmp_path / "keras_best.keras",
                                                 monitor="val_kid", mode="min",
                                                 save_best_only=True)
    history = model.fit(make_dataset(data, 4), epochs=4, steps_per_epoch=1, verbose=0,
                        callbacks=[evaluation, best, keras_best])
    # Epochs 2 and 4 were scored; the scores reached History and the checkpoints.
    assert [h["epoch"] for h in evaluation.history] == [2, 4]
    assert set(evaluation.history[0]) == {"epoch", "val_kid", "val_precision", "val_recall"}
    assert len(history.history["val_kid"]) == 2
    record = best.best()
    assert record["monitor"] == "val_kid"
    assert record["value"] == min(h["val_kid"] for h in evaluation.history)
    assert (tmp_path / "best.keras").exists() and (tmp_path / "keras_best.keras").exists()
    steps = [step for tag, step, _ in read_events(str(tmp_path / "logs"))
             if tag == "epoch_val_kid"]
    assert steps == [1, 3]
    # A resumed run only replaces best.keras with a better model.
    before = (tmp_path / "best.keras").stat().st_mtime_ns
    best.set_model(model)
    best.on_epoch_end(9, {"val_kid": record["value"] + 1.0})
    assert (tmp_path / "best.keras").stat().st_mtime_ns == before
    best.on_epoch_end(9, {"val_kid": record["value"] - 1.0})
    assert best.best()["epoch"] == 10


def test_train_with_eval_every_keeps_the_best_model(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "dcgan", "--data", "builtin:mondrian:16", "--image-size", "16",
                 "--batch-size", "4", "--epochs", "2", "--steps-per-epoch", "1",
                 "--latent-dim", "8", "--base-width", "8", "--eval-every", "1",
                 "--eval-n", "8", "--eval-metric", "coverage", "--run-dir", str(run),
                 "--quiet"]) == 0
    record = json.loads((run / "best.keras.json").read_text())
    assert record["monitor"] == "val_coverage" and 0.0 <= record["value"] <= 1.0
    state = json.loads((run / "checkpoints" / "state.json").read_text())
    assert {"val_fid", "val_kid", "val_coverage"} <= set(state["logs"])
    with pytest.raises(SystemExit) as refused:  # a flag's value: argparse's one line
        main(["train", "dcgan", "--eval-n", "1", "--dry-run"])
    assert refused.value.code == 2


# --- the style classifier and class coverage ---------------------------------------------

def test_shipped_style_classifier_knows_the_styles_at_every_size():
    from keras_genart.data.builtin_art import make_art
    from keras_genart.metrics.classifier import StyleClassifier

    classifier = StyleClassifier()
    assert classifier.class_names == ["bauhaus", "kandinsky", "mondrian", "op_art", "suprematism"]
    assert classifier.identity["held_out_accuracy"] >= 0.95
    for size in (16, 32):  # pictures it has not seen (another seed), resized to 32 px
        images, labels, _ = make_art("abstract", 60, image_size=size, seed=4242)
        probs = classifier.classify(images)
        assert probs.shape == (60, 5)
        np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)
        assert (probs.argmax(1) == labels).mean() >= 0.9
    features = get_extractor("classifier")(images)
    assert features.shape == (60, 128) and np.isfinite(features).all()


def test_class_coverage_worked_by_hand():
    from keras_genart.metrics.classifier import class_coverage

    eye = np.eye(3)
    real = eye[[0, 0, 1, 1, 2, 2, 2, 2]]             # shares 1/4, 1/4, 1/2
    generated = eye[[0, 0, 0, 0, 0, 0, 1, 2]]        # shares 3/4, 1/8, 1/8
    result = class_coverage(generated, real, ["a", "b", "c"], real_labels=[0, 0, 1, 1, 2, 2, 2, 0])
    assert result["class_share"] == {"a": 0.75, "b": 0.125, "c": 0.125}
    assert result["real_class_share"] == {"a": 0.25, "b": 0.25, "c": 0.5}
    assert result["class_tv"] == pytest.approx(0.5)        # (0.5 + 0.125 + 0.375) / 2
    assert result["rarest_class_ratio"] == pytest.approx(0.25)  # c: 1/8 of 1/2
    assert result["classes_covered"] == 3 and result["classes_present"] == 3
    assert result["classifier_accuracy"] == pytest.approx(7 / 8)
    only_a = class_coverage(eye[[0, 0]], real, ["a", "b", "c"])
    assert only_a["classes_covered"] == 1 and only_a["rarest_class_ratio"] == 0.0
    assert only_a["class_tv"] == pytest.approx(0.75)
    with pytest.raises(UserInputError, match=r"generated class scores must be \(n, 3\)"):
        class_coverage(np.ones((2, 4)), real, ["a", "b", "c"])


def test_evaluate_classes_finds_a_missing_style():
    from keras_genart.data.builtin_art import make_art
    from keras_genart.metrics.classifier import StyleClassifier

    real, labels, _ = make_art("abstract", 40, image_size=16, seed=5)
    mondrian_only, _, _ = make_art("mondrian", 20, image_size=16, seed=6)
    report, extras = evaluate(mondrian_only, real, None, metrics=["classes"],
                              classifier=StyleClassifier(), real_labels=labels)
    scores = report["scores"]
    assert scores["class_share"]["mondrian"] >= 0.9 and scores["classes_covered"] == 1
    assert scores["rarest_class_ratio"] == 0.0 and scores["classifier_accuracy"] >= 0.9
    assert report["classifier"]["name"] == "classifier" and report["features"] is None
    picture = report_picture(mondrian_only, real, extras)
    assert picture.shape[0] >= 5 * 16  # one row per class
    with pytest.raises(UserInputError, match="classes metric needs a classifier"):
        evaluate(mondrian_only, real, None, metrics=["classes"])
    with pytest.raises(UserInputError, match="need a feature extractor"):
        evaluate(mondrian_only, real, None, metrics=["fid", "classes"],
                 classifier=StyleClassifier())


def test_style_classifier_is_made_by_its_own_training_code(tmp_path):
    from keras_genart.metrics.classifier import StyleClassifier, train_style_classifier

    path = tmp_path / "c.npz"
    accuracy = train_style_classifier(str(path), num_images=30, epochs=1, log=None)
    classifier = StyleClassifier(str(path))
    assert classifier.identity["held_out_accuracy"] == pytest.approx(accuracy, abs=1e-4)
    assert classifier.classify(PICTURES).shape == (12, 5)
    (tmp_path / "bad.npz").write_bytes(b"not a file")
    with pytest.raises(UserInputError, match="is not a style classifier file"):
        StyleClassifier(str(tmp_path / "bad.npz"))
    with pytest.raises(UserInputError, match="python -m keras_genart.metrics.classifier"):
        StyleClassifier(str(tmp_path / "missing.npz"))


def test_a_users_keras_classifier_for_folder_data(tmp_path, capsys):
    # Class folders (not builtin:) scored with the user's own classifier.
    data = tmp_path / "data"
    for name, colour in (("red", (220, 20, 20)), ("blue", (20, 20, 220))):
        (data / name).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (16, 16), colour).save(data / name / f"{i}.png")
    inputs = keras.Input((16, 16, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    # Scores: blue minus red, red minus blue -> class folders sort as (blue, red).
    head = keras.layers.Dense(2, use_bias=False)
    model = keras.Model(inputs, head(pooled))
    head.set_weights([np.array([[-1, 1], [0, 0], [1, -1]], np.float32)])
    model.save(tmp_path / "clf.keras")
    generated = tmp_path / "generated"
    generated.mkdir()
    for i in range(8):
        Image.new("RGB", (16, 16), (200, 30, 30)).save(generated / f"{i}.png")
    out = tmp_path / "r.json"
    args = ["evaluate", "--generated", str(generated), "--image-size", "16", "--data",
            str(data), "--out", str(out)]
    assert main([*args, "--metrics", "classes"]) == 2
    assert "needs --classifier MODEL.keras" in capsys.readouterr().err
    assert main([*args, "--classifier", str(tmp_path / "clf.keras")]) == 0
    scores = json.loads(out.read_text())["scores"]
    assert scores["class_share"] == {"blue": 0.0, "red": 1.0}
    assert scores["classifier_accuracy"] == 1.0 and scores["classes_covered"] == 1
    assert "fid" in scores  # the default metrics, and classes because a classifier was given
    capsys.readouterr()


def test_evaluation_callback_logs_class_coverage(tmp_path):
    from keras_genart.callbacks import EvaluationCallback
    from keras_genart.data import load_images, make_dataset
    from keras_genart.models import build_model

    data = load_images("builtin:abstract:20", image_size=16)
    model = build_model("dcgan", image_size=16, latent_dim=8, base_width=8, seed=0)
    model.compile()
    evaluation = EvaluationCallback(data, metrics=["classes"], n=10)
    history = model.fit(make_dataset(data, 4), epochs=1, steps_per_epoch=1, verbose=0,
                        callbacks=[evaluation])
    assert set(evaluation.history[0]) == {"epoch", "val_class_tv", "val_rarest_class_ratio"}
    assert 0.0 <= history.history["val_class_tv"][0] <= 1.0
    assert main(["train", "dcgan", "--data", str(tmp_path), "--eval-every", "1",
                 "--eval-metric", "class_tv", "--dry-run"]) == 2


# --- what is judged against: the data the model trained on --------------------------------

class _Copier:
    """A generator (the protocol of `keras_genart.pictures`) that passes given pictures off
    as its own."""

    latent_dim, num_classes, label_names, model_type = 8, 0, None, "dcgan"

    def __init__(self, pictures):
        self.pictures, self.made = pictures.astype(np.float32) / 255.0, 0

    def generate_from_latents(self, z, labels=None, class_weights=None):
        out = self.pictures[self.made:self.made + len(z)]
        self.made += len(z)
        return out


def _train_tiny_run(run, seed):
    assert main(["train", "dcgan", "--data", "builtin:mondrian:16", "--image-size", "16",
                 "--batch-size", "4", "--epochs", "1", "--steps-per-epoch", "1",
                 "--latent-dim", "8", "--base-width", "8", "--seed", str(seed),
                 "--run-dir", str(run), "--quiet"]) == 0


def test_evaluate_judges_against_the_pictures_the_run_trained_on(tmp_path, monkeypatch,
                                                                   capsys):
    # A run trained on seed 3 saw builtin:mondrian:16 drawn with seed 3: the copy check must
    # compare with those, whatever --seed the evaluation takes (issue 28, item 13).
    from keras_genart import artifacts
    from keras_genart.data import load_images

    run = tmp_path / "run"
    _train_tiny_run(run, seed=3)
    seen = load_images("builtin:mondrian:16", image_size=16, seed=3).images
    monkeypatch.setattr(artifacts, "open_model", lambda *_: _Copier(seen))
    out = tmp_path / "report.json"
    assert main(["evaluate", str(run), "--data", "builtin:mondrian:16", "--n", "16",
                 "--metrics", "novelty", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["real"]["seed"] == 3 and report["real"]["seed_from"] == "the run's config.json"
    assert report["scores"]["copy_share"] == 1.0  # every training picture found as a copy
    assert "drawn with seed 3" in capsys.readouterr().out


def test_the_training_data_seed_is_read_from_every_kind_of_model(tmp_path):
    from keras_genart.artifacts import training_data_seed

    run = tmp_path / "run"
    _train_tiny_run(run, seed=3)
    assert training_data_seed(str(run)) == (3, "the run's config.json")
    checkpoint = next((run / "checkpoints").glob("*.keras"))
    assert training_data_seed(str(checkpoint)) == (3, "the run's config.json")
    assert training_data_seed(str(run / "model.keras")) == (3, "the run's config.json")
    alone = tmp_path / "alone.keras"
    alone.write_bytes((run / "model.keras").read_bytes())
    assert training_data_seed(str(alone)) == (None, None)  # no run folder: nothing says
    # A version-1 run (flat "config", no data summary) records its seed too.
    old = tmp_path / "old"
    old.mkdir()
    (old / "model.keras").write_bytes((run / "model.keras").read_bytes())
    (old / "config.json").write_text(json.dumps({"config": {"seed": 7, "model": "dcgan"}}))
    assert training_data_seed(str(old)) == (7, "the run's config.json")
    # An exported version: its metadata's training data, or the settings it trained with.
    version = tmp_path / "models" / "dcgan" / "1"
    version.mkdir(parents=True)
    (version / "model.onnx").write_bytes(b"")
    metadata = {"model_type": "dcgan", "latent_dim": 8, "image_size": 16, "channels": 3,
                "training_data": {"kind": "builtin", "seed": 5}, "training_config": {"seed": 5}}
    (version / "metadata.json").write_text(json.dumps(metadata))
    assert training_data_seed(str(version)) == (5, "the export's metadata.json")
    del metadata["training_data"]
    (version / "metadata.json").write_text(json.dumps({**metadata,
                                                       "training_config": {"seed": 6}}))
    assert training_data_seed(str(version)) == (6, "the export's metadata.json")
    (version / "metadata.json").write_text(json.dumps({**metadata, "training_config": {}}))
    assert training_data_seed(str(version)) == (None, None)


# --- memory: a picture set is converted and generated one batch at a time -----------------

def test_features_convert_one_batch_at_a_time():
    # A whole set copied to float32 (twice: astype, then / 255) before batching held 8 bytes
    # per picture value at once (issue 28, item 15); the features stay the same.
    import tracemalloc

    from keras_genart.metrics.classifier import StyleClassifier

    pictures = np.random.default_rng(1).integers(0, 256, (200, 64, 64, 3), dtype=np.uint8)
    whole = pictures.size * 4  # bytes of one float32 copy of the set
    unit = pictures.astype(np.float32) / 255.0  # the whole set, converted as before
    for extractor in (RandomFeatures(), StyleClassifier()):
        extractor.batch_size = 25
        before = np.concatenate([np.asarray(keras.ops.convert_to_numpy(extractor.model(
            extractor.preprocess(unit[s:s + 25]), training=False)), np.float32)
            for s in range(0, len(unit), 25)])
        extractor(pictures[:60])  # traces the network outside the measure
        tracemalloc.start()
        try:
            features = extractor(pictures)
            peak = tracemalloc.get_traced_memory()[1]
            if isinstance(extractor, StyleClassifier):
                tracemalloc.reset_peak()
                probs = extractor.classify(pictures, batch_size=25)
                assert tracemalloc.get_traced_memory()[1] < whole / 2
                np.testing.assert_array_equal(probs, extractor.classify(unit, batch_size=25))
        finally:
            tracemalloc.stop()
        np.testing.assert_array_equal(features, before)
        assert peak < whole / 2, f"{type(extractor).__name__}: {peak} bytes at once"


class _Recorder:
    """Wraps a generator and records how many latents each call gets."""

    def __init__(self, generator):
        self.generator, self.calls = generator, []

    def __getattr__(self, name):
        return getattr(self.generator, name)

    def generate_from_latents(self, z, **kwargs):
        self.calls.append(len(z))
        return self.generator.generate_from_latents(z, **kwargs)


def test_generated_pictures_come_one_batch_at_a_time(tmp_path, monkeypatch):
    # Made in one call, `--n 5000` pictures at 128 px were whole float32 sets (and, exported,
    # one onnxruntime run of tens of GB): batch by batch, the same pictures (issue 28, item 15).
    from keras_genart import artifacts, imaging, pictures
    from keras_genart.models import build_model

    path = tmp_path / "c.keras"  # conditional: the classes in turn run on across batches
    build_model("dcgan", image_size=16, latent_dim=8, base_width=8, seed=0,
                classes=["a", "b", "c"], conditional=True).save(path)
    model = _Recorder(artifacts.open_model(str(path)))
    before = imaging.to_uint8(pictures.sample(model.generator, 10, seed=4))
    monkeypatch.setattr(artifacts, "open_model", lambda *_: model)
    images, made_by = artifacts.generated_pictures(str(path), n=10, seed=4, batch_size=4)
    np.testing.assert_array_equal(images, before)
    assert images.dtype == np.uint8 and model.calls == [4, 4, 2]
    assert made_by["kind"] == "keras" and made_by["seed"] == 4


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
                    reason="the export fixture needs TensorFlow's backend")
def test_an_exported_version_generates_one_batch_at_a_time(exported, monkeypatch):
    from keras_genart import artifacts, imaging, pictures

    version = str(exported["version_dir"])
    model = _Recorder(artifacts.open_model(version))
    before = imaging.to_uint8(pictures.sample(model.generator, 600, seed=2))
    monkeypatch.setattr(artifacts, "open_model", lambda *_: model)
    images, _ = artifacts.generated_pictures(version, n=600, seed=2)
    np.testing.assert_array_equal(images, before)
    assert model.calls == [256, 256, 88]
