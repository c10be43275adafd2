"""Feature extractors, the evaluate report and `genart evaluate`."""

import json

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
from keras_genart.metrics.report import evaluate

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


def test_genart_evaluate_a_model_a_folder_and_an_export(tmp_path, capsys, exported):
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
    # An exported version, scored through onnxruntime.
    assert main(["evaluate", str(exported["version_dir"]), "--metrics", "pr", *args]) == 0
    assert json.loads(out.read_text())["generated"]["kind"] == "exported"
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
