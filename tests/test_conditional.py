"""Control over what gets made: latents (truncation, slerp, labels), conditional GANs from
training to the CLI, export, the server and Node."""

import io
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from keras_genart.cli import main
from keras_genart.latents import (
    resolve_labels,
    sample_latents,
    sample_truncated_latents,
    slerp,
    truncation_threshold,
)

TINY = ["--data", "builtin:abstract:20", "--image-size", "16", "--batch-size", "4",
        "--latent-dim", "8", "--base-width", "8", "--steps-per-epoch", "2", "--quiet"]


# --- latents: pure NumPy, the recipe every runtime shares ---------------------------

def test_truncation_redraws_only_the_values_beyond_the_threshold():
    assert truncation_threshold(1.0) == np.inf
    assert truncation_threshold(0.682689492) == pytest.approx(1.0, abs=1e-6)  # +-1 sigma
    plain = sample_latents(50, 16, seed=3)
    np.testing.assert_array_equal(sample_truncated_latents(50, 16, 3, None), plain)
    np.testing.assert_array_equal(sample_truncated_latents(50, 16, 3, 1.0), plain)
    cut = sample_truncated_latents(50, 16, 3, 0.5)
    threshold = truncation_threshold(0.5)
    assert np.abs(cut).max() <= threshold and cut.dtype == np.float32
    inside = np.abs(plain) <= threshold
    np.testing.assert_array_equal(cut[inside], plain[inside])
    assert not np.array_equal(cut[~inside], plain[~inside])
    np.testing.assert_array_equal(cut, sample_truncated_latents(50, 16, 3, 0.5))
    np.testing.assert_array_equal(cut[:7], sample_truncated_latents(7, 16, 3, 0.5))
    for bad in (0, -0.5, 1.5, "x", float("nan")):
        with pytest.raises(ValueError, match=r"truncation must be"):
            sample_truncated_latents(2, 4, 0, bad)


def test_slerp_keeps_the_ends_and_the_gaussian_norm():
    a, b = sample_latents(2, 512, seed=0)
    path = slerp(a, b, 9)
    np.testing.assert_array_equal(path[0], a)
    np.testing.assert_array_equal(path[-1], b)
    norms = np.linalg.norm(path, axis=1)
    # Nearly orthogonal: a straight line's middle is ~ 1/sqrt(2) as long as the ends;
    # the great circle keeps their length.
    ends = min(np.linalg.norm(a), np.linalg.norm(b))
    assert norms.min() > 0.99 * ends and np.linalg.norm((a + b) / 2) < 0.8 * ends
    np.testing.assert_allclose(slerp(a, 2 * a, 3)[1], 1.5 * a, rtol=1e-6)  # parallel: a line
    with pytest.raises(ValueError, match="steps must be at least 2"):
        slerp(a, b, 1)


def test_labels_by_name_or_index_and_clear_errors():
    names = ["circles", "stripes", "waves"]
    np.testing.assert_array_equal(resolve_labels(None, 5, names), [0, 1, 2, 0, 1])
    np.testing.assert_array_equal(resolve_labels("waves", 2, names), [2, 2])
    np.testing.assert_array_equal(resolve_labels(["stripes", 0], 2, names), [1, 0])
    assert resolve_labels(None, 3, None) is None
    for bad, message in ((["waves"], "1 labels for 2 pictures"), ("dots", "unknown class 'dots'"),
                         (3, "label 3 is not a class"), (True, "is not a class"),
                         (1.0, "is not a class")):
        with pytest.raises(ValueError, match=message):
            resolve_labels(bad, 2, names)
    with pytest.raises(ValueError, match="not conditional"):
        resolve_labels(1, 2, [])


_NODE_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "serving", "node")
_DUMP_JS = """
const fs = require("fs");
const latents = require(process.argv[2]);
const out = [];
for (const [n, dim, seed, psi] of JSON.parse(fs.readFileSync(process.argv[3], "utf8"))) {
  out.push(...latents.sampleTruncatedLatents(n, dim, seed, psi));
}
for (const seed of [0, 1, 2]) {  // walks: slerp between a seed's two latents, 5 steps
  const z = latents.sampleLatents(2, 64, seed);
  out.push(...latents.slerp(z.subarray(0, 64), z.subarray(64), 5));
}
fs.writeFileSync(process.argv[4], Buffer.from(Float32Array.from(out).buffer));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_latents_equal_numpys(tmp_path):
    # serving/node/latents.js (Node, and browsers) ports default_rng's SeedSequence,
    # PCG64 and ziggurat normals, the truncation redraws and slerp: float32-equal to NumPy.
    spec = [[n, dim, seed, None] for seed in range(1000) for n, dim in ((1, 1), (3, 7), (2, 128))]
    spec += [[4, 16, seed, psi] for seed in range(200) for psi in (0.5, 0.7)]
    spec += [[2, 8, 2 ** 40 + 3, None], [2, 8, 2 ** 40 + 3, 0.3]]  # seeds beyond 32 bits
    (tmp_path / "dump.js").write_text(_DUMP_JS)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    subprocess.run(["node", str(tmp_path / "dump.js"), os.path.join(_NODE_DIR, "latents.js"),
                    str(tmp_path / "spec.json"), str(tmp_path / "out.bin")], check=True,
                   timeout=120)
    got = np.fromfile(tmp_path / "out.bin", np.float32)
    expected = np.concatenate([sample_truncated_latents(n, dim, seed, psi).ravel()
                               for n, dim, seed, psi in spec]
                              + [slerp(*sample_latents(2, 64, seed), 5).ravel()
                                 for seed in (0, 1, 2)])
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


# --- the models ----------------------------------------------------------------------

def _tiny_conditional(model_type="dcgan", **kwargs):
    from keras_genart.models import build_model

    model = build_model(model_type, image_size=16, latent_dim=8, base_width=8, seed=0,
                        class_names=["a", "b", "c"], **kwargs)
    model.compile()
    return model


def test_conditional_networks_take_the_label():
    from keras_genart.networks import build_discriminator, build_generator

    generator = build_generator(16, 8, base_width=8, num_classes=3)
    z = np.repeat(sample_latents(1, 8, 0), 2, axis=0)
    labels = np.array([0, 1], np.int32)
    # Conditional batch norm starts as plain batch norm (scale 1, shift 0) ...
    same = np.asarray(generator([z, labels]))
    np.testing.assert_allclose(same[0], same[1], atol=1e-6)
    # ... and each class learns its own scale and shift.
    affine = generator.get_layer("up1_norm_class")
    shift = np.asarray(affine.shift).copy()
    shift[1] += 1.0
    affine.shift.assign(shift)
    differs = np.asarray(generator([z, labels]))
    assert np.abs(differs[0] - differs[1]).max() > 1e-3
    discriminator = build_discriminator(16, base_width=8, num_classes=3)
    images = np.repeat(differs[:1], 3, axis=0)
    logits = np.asarray(discriminator([images, np.array([0, 1, 2], np.int32)]))
    assert logits.shape == (3, 1) and len(np.unique(logits.round(6))) == 3  # the projection


def test_conditional_wgan_gp_trains_with_labels_and_refuses_batches_without(tiny_data):
    # The conditional DCGAN goes through the standard checks (test_models).
    model = _tiny_conditional("wgan-gp", n_critic=1)
    images, labels = next(tiny_data)
    logs = model.train_on_batch(images, labels % 3, return_dict=True)
    assert all(np.isfinite(float(v)) for v in logs.values())
    with pytest.raises(ValueError,
                       match="learns classes from the labels .* it trains on \\(images, labels"):
        model.train_on_batch(images)


def test_conditional_generate_save_and_load(tmp_path, tiny_data):
    import keras

    model = _tiny_conditional(ema=0.5)
    images, labels = next(tiny_data)
    model.train_on_batch(images, labels % 3)
    by_name = model.generate(4, seed=1, labels="b", truncation=0.7)
    np.testing.assert_array_equal(by_name, model.generate(4, seed=1, labels=1, truncation=0.7))
    assert not np.array_equal(by_name, model.generate(4, seed=1, labels="c", truncation=0.7))
    assert not np.array_equal(by_name, model.generate(4, seed=1, labels="b"))
    model.save(tmp_path / "c.keras")
    loaded = keras.saving.load_model(tmp_path / "c.keras")
    assert loaded.class_names == ["a", "b", "c"]
    np.testing.assert_allclose(loaded.generate(4, seed=1, labels="b", truncation=0.7), by_name,
                               atol=1e-6)
    np.testing.assert_allclose(loaded.generate(3, seed=2), model.generate(3, seed=2), atol=1e-6)
    with pytest.raises(ValueError, match="unknown class 'd'"):
        model.generate(2, labels="d")
    with pytest.raises(ValueError, match="does not pack"):
        _tiny_conditional(packing=2)


# --- the CLI, export, the server and Node: one conditional run -----------------------

def _trained_and_exported(base, flag):
    """A tiny DCGAN trained by `genart train FLAG` in `base`, exported: its run folder,
    model and version folder."""
    run_dir = base / "run"
    assert main(["train", "dcgan", flag, "--run-dir", str(run_dir), *TINY]) == 0
    assert main(["export", str(run_dir), "--out", str(base / "models")]) == 0
    from keras_genart.runs import load_trained_model

    return {"dir": run_dir, "base": base, "model": load_trained_model(run_dir),
            "version_dir": base / "models" / "dcgan" / "1"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny conditional DCGAN trained by `genart train --conditional`, and its export."""
    return _trained_and_exported(tmp_path_factory.mktemp("conditional"), "--conditional")


def _check_walk_between_classes(run, tmp_path):
    """`genart interpolate --class bauhaus --to-class op_art`: the ends are exactly the two
    classes' pictures."""
    from PIL import Image

    assert main(["interpolate", str(run["dir"]), "--from-seed", "1", "--to-seed", "2",
                 "--steps", "3", "--class", "bauhaus", "--to-class", "op_art", "--out",
                 str(tmp_path / "classes.gif")]) == 0
    with Image.open(tmp_path / "classes.png") as grid:
        assert "class bauhaus to op_art" in grid.text["keras_genart.walk"]
        pixels = np.asarray(grid)
    model = run["model"]
    start, end = (model.generate(1, seed=s, labels=c)[0] for s, c in ((1, 0), (2, "op_art")))
    np.testing.assert_array_equal(pixels[2:18, 2:18], np.rint(start * 255))
    np.testing.assert_array_equal(pixels[2:18, 38:54], np.rint(end * 255))


def test_cli_samples_a_class_a_grid_per_class_and_a_walk(run, tmp_path, capsys):
    from PIL import Image

    model = run["model"]
    classes = model.class_names
    assert classes == ["bauhaus", "kandinsky", "mondrian", "op_art", "suprematism"]
    out = tmp_path / "suprematism.png"
    assert main(["sample", str(run["dir"]), "--class", "suprematism", "--truncation", "0.7",
                 "--n", "4", "--seed", "3", "--out", str(out)]) == 0
    with Image.open(out) as grid:
        assert grid.text["keras_genart.class"] == "suprematism"
        assert grid.text["keras_genart.truncation"].startswith("0.7 (")
        pixels = np.asarray(grid)
    expected = model.generate(4, seed=3, labels="suprematism", truncation=0.7)
    np.testing.assert_array_equal(pixels[2:18, 2:18], np.rint(expected[0] * 255))
    assert main(["sample", str(run["dir"]), "--per-class", "3", "--out",
                 str(tmp_path / "rows.png")]) == 0
    with Image.open(tmp_path / "rows.png") as grid:
        assert grid.size == (3 * 18 + 2, 5 * 18 + 2)  # 3 columns, one row per class
    assert main(["interpolate", str(run["dir"]), "--from-seed", "1", "--to-seed", "2",
                 "--steps", "4", "--class", "2", "--out", str(tmp_path / "walk.gif")]) == 0
    with Image.open(tmp_path / "walk.gif") as walk:
        assert walk.n_frames == 4
    assert (tmp_path / "walk.png").exists()
    _check_walk_between_classes(run, tmp_path)
    from keras_genart.latents import class_walk

    halfway = model.generate_from_latents(np.repeat(sample_latents(1, 8, 1), 2, axis=0),
                                          class_weights=[[0.5, 0, 0, 0.5, 0], [1, 0, 0, 0, 0]])
    assert np.abs(halfway[0] - halfway[1]).max() > 0
    np.testing.assert_array_equal(class_walk(0, 3, 3, 5)[1], [0.5, 0, 0, 0.5, 0])
    with pytest.raises(ValueError, match="rows that sum to 1"):
        model.generate_from_latents(sample_latents(1, 8, 1), class_weights=[[1, 1, 0, 0, 0]])
    capsys.readouterr()
    assert main(["sample", str(run["dir"]), "--class", "dots", "--out",
                 str(tmp_path / "x.png")]) == 2
    assert "unknown class 'dots'; the classes are bauhaus, kandinsky" in capsys.readouterr().err
    assert main(["interpolate", str(run["dir"]), "--out", str(tmp_path / "walk.mp4")]) == 2
    assert "animated .gif or .webp" in capsys.readouterr().err
    assert main(["interpolate", str(run["dir"]), "--to-class", "op_art", "--out",
                 str(tmp_path / "x.gif")]) == 2
    assert "--to-class walks from the class of --class" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_conditional_training_needs_labelled_data(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "flat"
    folder.mkdir()
    for i in range(4):
        Image.new("RGB", (16, 16), (i * 40, 0, 0)).save(folder / f"{i}.png")
    args = ["train", "dcgan", "--conditional", "--run-dir", str(tmp_path / "r"), *TINY]
    args[args.index("builtin:abstract:20")] = str(folder)
    assert main(args) == 2
    assert "--conditional needs labelled data" in capsys.readouterr().err
    args[args.index("--conditional")] = "--balance-classes"
    assert main(args) == 2
    assert "--balance-classes needs labelled data" in capsys.readouterr().err
    args[args.index("--balance-classes")] = "--latent-classes"
    assert main(args) == 2
    assert "--latent-classes needs labelled data" in capsys.readouterr().err
    assert main([*args, "--conditional"]) == 2
    assert "--latent-classes is for GANs" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_conditional_run_resumes_and_refuses_other_classes(tmp_path, capsys):
    from PIL import Image

    from keras_genart.runs import load_trained_model

    for name, colour in (("a", (200, 0, 0)), ("b", (0, 0, 200))):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (16, 16), colour).save(tmp_path / "data" / name / f"{i}.png")
    args = ["train", "dcgan", "--conditional", "--run-dir", str(tmp_path / "run"), *TINY]
    args[args.index("builtin:abstract:20")] = str(tmp_path / "data")
    assert main([*args, "--epochs", "1"]) == 0
    (tmp_path / "data" / "b").rename(tmp_path / "data" / "c")
    capsys.readouterr()
    assert main([*args, "--epochs", "2"]) == 2
    assert ("was trained on the classes a, b and the data now has a, c"
            in capsys.readouterr().err)
    (tmp_path / "data" / "c").rename(tmp_path / "data" / "b")
    assert main([*args, "--epochs", "2"]) == 0
    resumed = load_trained_model(tmp_path / "run")
    assert resumed.class_names == ["a", "b"] and int(resumed.g_optimizer.iterations) == 4


def test_export_has_a_label_input_everywhere(run):
    import onnx
    import tensorflow as tf

    from keras_genart.serving import Generator

    metadata = json.loads((run["version_dir"] / "metadata.json").read_text())
    assert metadata["conditional"] and metadata["onnx"]["inputs"] == ["z", "label"]
    assert metadata["class_names"] == run["model"].class_names
    assert set(metadata["parity_max_abs_diff"]) == {"savedmodel", "savedmodel:render", "onnx"}
    from keras_genart.export.exporter import parity_limit

    assert all(v <= parity_limit(k) for k, v in metadata["parity_max_abs_diff"].items())
    proto = onnx.load(run["version_dir"] / "model.onnx")
    assert [i.name for i in proto.graph.input] == ["z", "label"]
    signature = tf.saved_model.load(str(run["version_dir"])).signatures["serving_default"]
    assert set(signature.structured_input_signature[1]) == {"z", "label"}
    assert signature.structured_input_signature[1]["label"].dtype == tf.int64
    generator = Generator(run["version_dir"])
    expected = run["model"].generate(3, seed=5, labels="op_art", truncation=0.8)
    got = generator.sample(3, seed=5, label="op_art", truncation=0.8)
    assert np.abs(got / 255.0 - expected).max() <= 1 / 255 + 1e-6
    walk = generator.interpolate(1, 2, steps=3, label=4)
    np.testing.assert_array_equal(walk[0], generator.sample(1, seed=1, label="suprematism")[0])


def test_server_takes_labels_and_refuses_bad_ones(run):
    from fastapi.testclient import TestClient

    from keras_genart.serving.server import create_app

    client = TestClient(create_app(run["base"] / "models"))
    z = sample_latents(2, 8, seed=7)
    expected = run["model"].generate_from_latents(z, labels=[1, 3])
    rows = client.post("/v1/models/dcgan:predict", json={"instances": [
        {"z": z[0].tolist(), "label": 1}, {"z": z[1].tolist(), "label": "op_art"}]})
    assert rows.status_code == 200, rows.text
    assert np.abs(np.array(rows.json()["predictions"]) - expected).max() <= 1e-4
    columns = client.post("/v1/models/dcgan:predict",
                          json={"inputs": {"z": z.tolist(), "label": [1, 3]}})
    assert np.abs(np.array(columns.json()["outputs"]) - expected).max() <= 1e-4
    for body, message in (
            ({"instances": z.tolist()}, "this model is conditional"),
            ({"instances": [{"z": z[0].tolist()}]}, "'z' and 'label'"),
            ({"inputs": {"z": z.tolist(), "label": [1]}}, "'label' must be a list of 2"),
            ({"inputs": {"z": z.tolist(), "label": [1, 9]}}, "label 9 is not a class"),
            ({"inputs": {"z": z.tolist(), "label": [1, "dots"]}}, "unknown class 'dots'"),
            ({"inputs": {"z": z.tolist(), "label": [1, 2.5]}}, "a class index \\(DT_INT64\\)"),
            ({"inputs": {"z": z.tolist(), "label": [True, 1]}}, "a class index")):
        answer = client.post("/v1/models/dcgan:predict", json=body)
        assert answer.status_code == 400 and set(answer.json()) == {"error"}, body
        assert re.search(message, answer.json()["error"]), answer.json()
    meta = client.get("/v1/models/dcgan/metadata").json()
    inputs = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
    assert inputs["label"]["dtype"] == "DT_INT64"
    grid = client.get("/v1/models/dcgan:sample?n=2&seed=1&class=mondrian&truncation=0.7")
    assert grid.status_code == 200 and grid.headers["content-type"] == "image/png"
    from PIL import Image

    with Image.open(io.BytesIO(grid.content)) as picture:
        assert picture.text["keras_genart.class"] == "mondrian"
        assert picture.text["keras_genart.truncation"].startswith("0.7 (")
        served = np.asarray(picture)[2:18, 2:18]
    expected = run["model"].generate(1, seed=1, labels="mondrian", truncation=0.7)[0]
    assert np.abs(served / 255.0 - expected).max() <= 1 / 255 + 1e-6
    for query, message in (("class=dots", "unknown class"), ("class=7", "not a class"),
                           ("truncation=0", "truncation must be in")):
        answer = client.get(f"/v1/models/dcgan:sample?{query}")
        assert answer.status_code == 400 and message in answer.json()["error"], query


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                    reason="node and npm are not installed")
def test_node_example_takes_a_label(run, node_app, tmp_path):
    z = sample_latents(2, 8, seed=11)
    (tmp_path / "z.json").write_text(json.dumps({"z": z.tolist(), "label": ["mondrian", 4]}))
    result = subprocess.run(["node", "generate.js", str(run["version_dir"]),
                             str(tmp_path / "z.json"), str(tmp_path / "out.json")],
                            cwd=node_app, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    images = np.array(out["images"], np.float32).reshape(out["shape"])
    expected = run["model"].generate_from_latents(z, labels=["mondrian", "suprematism"])
    assert np.abs(images - expected).max() <= 1e-4
    (tmp_path / "z.json").write_text(json.dumps({"z": z.tolist(), "label": ["dots", 0]}))
    bad = subprocess.run(["node", "generate.js", str(run["version_dir"]),
                          str(tmp_path / "z.json"), str(tmp_path / "out.json")],
                         cwd=node_app, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and 'label "dots" is not a class' in bad.stderr
    assert os.path.getsize(tmp_path / "out.json") > 0
    # From a seed: the latents of latents.js, the grid of `genart sample`.
    from PIL import Image

    node = subprocess.run(["node", "generate.js", str(run["version_dir"]), "--seed", "7", "--n",
                           "5", "--class", "mondrian", "--truncation", "0.7", "--out",
                           str(tmp_path / "node.png")],
                          cwd=node_app, capture_output=True, text=True, timeout=120)
    assert node.returncode == 0, node.stderr
    assert main(["sample", str(run["dir"]), "--seed", "7", "--n", "5", "--class", "mondrian",
                 "--truncation", "0.7", "--out", str(tmp_path / "python.png")]) == 0
    with Image.open(tmp_path / "node.png") as grid, \
            Image.open(tmp_path / "python.png") as reference:
        assert grid.size == reference.size and grid.text["keras_genart.class"] == "mondrian"
        assert grid.text["keras_genart.seed"] == "7"
        difference = np.abs(np.asarray(grid).astype(int) - np.asarray(reference).astype(int))
    assert difference.max() <= 1  # onnxruntime against Keras: within 1e-4 before rounding
    bad = subprocess.run(["node", "generate.js", str(run["version_dir"]), "--seed", "-1"],
                         cwd=node_app, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--seed must be a non-negative integer" in bad.stderr


# --- the conditional VAE: vary and reconstruct, from Keras and from the ONNX files ----

@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    """A tiny conditional VAE trained by `genart train vae --conditional`, its export, and
    a picture of the Mondrian style to vary."""
    from keras_genart import imaging
    from keras_genart.runs import load_trained_model

    base = tmp_path_factory.mktemp("cvae")
    assert main(["train", "vae", "--conditional", "--run-dir", str(base / "run"), *TINY]) == 0
    assert main(["export", str(base / "run"), "--out", str(base / "models")]) == 0
    model = load_trained_model(base / "run")
    picture = imaging.to_uint8(model.generate(1, seed=3, labels="mondrian"))[0]
    imaging.save_png(base / "picture.png", picture)
    return {"dir": base / "run", "model": model, "picture": picture,
            "version_dir": base / "models" / "vae" / "1", "image": base / "picture.png"}


def test_vae_varies_the_same_from_keras_and_from_onnx(vae_run):
    import onnx

    from keras_genart.latents import variation_latents
    from keras_genart.serving import Generator

    metadata = json.loads((vae_run["version_dir"] / "metadata.json").read_text())
    assert metadata["onnx"]["encoder"] == {"file": "encoder.onnx", "inputs": ["images", "label"],
                                           "outputs": ["mean", "log_var"]}
    assert {"savedmodel:encode", "savedmodel:reconstruct", "onnx", "onnx:encoder"} <= set(
        metadata["parity_max_abs_diff"])
    assert "encoder.onnx" in metadata["sha256"] and "variation_recipe" in metadata
    proto = onnx.load(vae_run["version_dir"] / "encoder.onnx")
    assert [i.name for i in proto.graph.input] == ["images", "label"]
    model, picture = vae_run["model"], vae_run["picture"]
    generator = Generator(vae_run["version_dir"])
    # The float pictures of `vary`: Keras' and onnxruntime's within 1e-4.
    expected = model.vary(picture, n=4, seed=1, spread=0.5, label="mondrian")
    mean, _ = generator.encode(picture, ["mondrian"])
    got = generator.run(variation_latents(mean[0], 4, seed=1, spread=0.5), "mondrian")
    assert np.abs(got - expected).max() <= 1e-4
    uint8 = generator.vary(picture, n=4, seed=1, spread=0.5, label="mondrian")
    assert np.abs(uint8 / 255.0 - expected).max() <= 1 / 255 + 1e-6
    styled = generator.vary(picture, n=4, seed=1, label="mondrian", to_label="op_art")
    assert np.abs(styled / 255.0 - model.vary(picture, n=4, seed=1, label="mondrian",
                                              to_label="op_art")).max() <= 1 / 255 + 1e-6
    rebuilt = generator.reconstruct(np.stack([picture, picture]), "mondrian")
    assert np.abs(rebuilt / 255.0 - model.reconstruct(picture[None], "mondrian")[0]).max() \
        <= 1 / 255 + 1e-6
    with pytest.raises(ValueError, match="conditional: say which class"):
        generator.vary(picture)
    with pytest.raises(ValueError, match="pictures must have shape"):
        generator.encode(picture[:8], "mondrian")


def test_cli_vary_and_reconstruct(vae_run, run, tmp_path, capsys):
    from PIL import Image

    image = str(vae_run["image"])
    for source, out in ((vae_run["dir"], "keras.png"), (vae_run["version_dir"], "onnx.png")):
        assert main(["vary", str(source), image, "--class", "mondrian", "--n", "3", "--seed",
                     "2", "--out", str(tmp_path / out)]) == 0
    with Image.open(tmp_path / "keras.png") as grid:
        assert grid.size == (4 * 18 + 2, 18 + 2)  # the picture, then 3 variations
        assert grid.text["keras_genart.class"] == "mondrian"
        assert grid.text["keras_genart.spread"] == "0.5"
        keras_pixels = np.asarray(grid).astype(int)
    with Image.open(tmp_path / "onnx.png") as grid:
        assert np.abs(np.asarray(grid).astype(int) - keras_pixels).max() <= 1
    expected = vae_run["model"].vary(vae_run["picture"], n=3, seed=2, label="mondrian")
    np.testing.assert_array_equal(keras_pixels[2:18, 20:36], np.rint(expected[0] * 255))
    capsys.readouterr()
    assert main(["reconstruct", str(vae_run["version_dir"]), image, image, "--class", "2",
                 "--out", str(tmp_path / "rec.png")]) == 0
    assert "mean absolute error" in capsys.readouterr().out
    with Image.open(tmp_path / "rec.png") as grid:
        assert grid.size == (4 * 18 + 2, 18 + 2)  # two pairs: picture, reconstruction
    for args, message in (
            (["vary", str(vae_run["dir"]), image], "say which class the picture is with "
                                                   "--class"),
            (["vary", str(vae_run["dir"]), image, "--class", "dots"], "unknown class 'dots'"),
            (["vary", str(vae_run["dir"]), str(tmp_path / "none.png"), "--class", "0"],
             "no such picture file"),
            (["vary", str(vae_run["dir"]), image, "--class", "0", "--spread", "-1"],
             "spread must be a finite number >= 0"),
            (["vary", str(run["version_dir"]), image], "is a dcgan: variations and "
                                                       "reconstructions need an encoder")):
        assert main([*args, "--out", str(tmp_path / "bad.png")]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "bad.png").exists()


# --- latent-coded classes: learnt from labels, exported as an unconditional generator --

def test_latent_classes_code_each_class_in_its_share_of_the_angle():
    from keras_genart.latents import (check_class_shares, latent_classes,
                                      latents_in_classes)

    shares = [0.2, 0.5, 0.3]
    z = sample_latents(60_000, 6, seed=1)
    drawn = np.bincount(latent_classes(z, shares), minlength=3) / len(z)
    np.testing.assert_allclose(drawn, shares, atol=0.01)
    # The angle does not depend on the length: scaled (truncated) latents keep the class.
    np.testing.assert_array_equal(latent_classes(0.3 * z[:500], shares),
                                  latent_classes(z[:500], shares))
    labels = np.arange(500) % 3
    moved = latents_in_classes(z[:500], labels, shares)
    np.testing.assert_array_equal(latent_classes(moved, shares), labels)
    np.testing.assert_allclose(np.hypot(moved[:, 0], moved[:, 1]),
                               np.hypot(z[:500, 0], z[:500, 1]), rtol=1e-5)
    np.testing.assert_array_equal(moved[:, 2:], z[:500, 2:])
    # A latent already of its class moves within the arc, not away from it.
    same = latents_in_classes(z[:500], latent_classes(z[:500], shares), shares)
    np.testing.assert_array_equal(latent_classes(same, shares),
                                  latent_classes(z[:500], shares))
    # Moved latents of one class are still standard normal in their first value's spread.
    one = latents_in_classes(z, np.zeros(len(z), int), [0.5, 0.5])
    assert abs(np.hypot(one[:, 0], one[:, 1]).mean() - np.sqrt(np.pi / 2)) < 0.02
    np.testing.assert_allclose(check_class_shares([2, 2, 4]), [0.25, 0.25, 0.5])
    for bad in ([1.0], [1, 0], [1, float("nan")], [1, -1]):
        with pytest.raises(ValueError, match="two or more positive numbers"):
            check_class_shares(bad)
    with pytest.raises(ValueError, match="shape \\(n, 2 or more\\)"):
        latent_classes(np.zeros((3, 1)), shares)
    with pytest.raises(ValueError, match="labels in 0..2"):
        latents_in_classes(z[:2], [0, 3], shares)


def test_latent_class_layer_and_training_placement_match_numpy():
    from keras import ops

    from keras_genart.latents import latent_classes, latents_in_classes
    from keras_genart.networks.layers import LatentClass, place_in_class

    shares = [0.1, 0.6, 0.3]
    z = sample_latents(400, 4, seed=2)
    layer = LatentClass(shares)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(z)), latent_classes(z, shares))
    labels = np.arange(400) % 3
    placed = ops.convert_to_numpy(place_in_class(z, labels, shares))
    np.testing.assert_allclose(placed, latents_in_classes(z, labels, shares), atol=2e-5)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(placed)), labels)
    assert LatentClass.from_config(layer.get_config()).shares == pytest.approx(shares)


def _tiny_latent(model_type="dcgan", **kwargs):
    from keras_genart.models import build_model

    model = build_model(model_type, image_size=16, latent_dim=8, base_width=8, seed=0,
                        latent_class_names=["a", "b", "c"], latent_class_shares=[1, 2, 1],
                        **kwargs)
    model.compile()
    return model


@pytest.mark.parametrize("model_type", ["dcgan", "wgan-gp"])
def test_latent_classes_train_on_labels_and_generate_from_z(model_type, tiny_data):
    from keras_genart.latents import latent_classes, latents_in_classes

    kwargs = {"n_critic": 1} if model_type == "wgan-gp" else {"ema": 0.5}
    model = _tiny_latent(model_type, **kwargs)
    assert [tuple(i.shape) for i in model.generator.inputs] == [(None, 8)]
    assert len(model.discriminator.inputs) == 2 and model.class_names is None
    assert model.label_names == ["a", "b", "c"] and model.latent_class_shares == [.25, .5, .25]
    images, labels = next(tiny_data)
    logs = model.train_on_batch(images, labels % 3, return_dict=True)
    assert all(np.isfinite(float(v)) for v in logs.values())
    with pytest.raises(ValueError, match="learns classes .* this batch has no labels"):
        model.train_on_batch(images)
    z = sample_latents(6, 8, seed=4)
    # Asked for by name or index: the latents moved into the classes' arcs.
    asked = model.generate_from_latents(z, labels=["c", 0, "b", 1, 2, "a"])
    moved = latents_in_classes(z, [2, 0, 1, 1, 2, 0], model.latent_class_shares)
    np.testing.assert_array_equal(latent_classes(moved, [1, 2, 1]), [2, 0, 1, 1, 2, 0])
    np.testing.assert_allclose(asked, model.generate_from_latents(moved), atol=1e-6)
    np.testing.assert_array_equal(model.generate(3, seed=1, labels="b", truncation=0.7),
                                  model.generate(3, seed=1, labels=1, truncation=0.7))
    with pytest.raises(ValueError, match="unknown class 'd'"):
        model.generate(2, labels="d")
    with pytest.raises(ValueError, match="class weights are for conditional models"):
        model.generate_from_latents(z[:1], labels=0, class_weights=[[1, 0, 0]])


def test_latent_classes_save_load_and_refuse_what_cannot_be(tmp_path, tiny_data):
    import keras

    from keras_genart.errors import UserInputError
    from keras_genart.models import AdversarialModel, build_model
    from keras_genart.networks import build_discriminator, build_generator

    model = _tiny_latent(ema=0.5)
    images, labels = next(tiny_data)
    model.train_on_batch(images, labels % 3)
    model.save(tmp_path / "l.keras")
    loaded = keras.saving.load_model(tmp_path / "l.keras")
    assert loaded.latent_class_names == ["a", "b", "c"]
    assert loaded.latent_class_shares == pytest.approx([0.25, 0.5, 0.25])
    np.testing.assert_allclose(loaded.generate(4, seed=2, labels="c"),
                               model.generate(4, seed=2, labels="c"), atol=1e-6)
    np.testing.assert_allclose(loaded.generate(4, seed=2), model.generate(4, seed=2), atol=1e-6)
    coded = build_generator(16, 8, base_width=8, latent_class_shares=[1, 1])
    projection = build_discriminator(16, base_width=8, num_classes=2)
    with pytest.raises(ValueError, match="has 3 classes: the generator must read as many"):
        AdversarialModel(coded, projection, latent_class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="the discriminator takes 1 input"):
        AdversarialModel(coded, build_discriminator(16, base_width=8),
                         latent_class_names=["a", "b"])
    with pytest.raises(ValueError, match="labels \\(class_names\\) or codes"):
        AdversarialModel(coded, projection, class_names=["a", "b"],
                         latent_class_names=["a", "b"])
    with pytest.raises(ValueError, match="latent_dim 2 or more"):
        build_generator(16, 1, base_width=8, latent_class_shares=[1, 1])
    for kwargs, message in (
            ({"model_type": "vae"}, "--latent-classes is for GANs"),
            ({"class_names": ["a", "b"]}, "--conditional and --latent-classes"),
            ({"packing": 2}, "do not pack"),
            ({"latent_class_shares": [1, 1]}, "2 class shares for 3 classes"),
            ({"latent_class_shares": [1, 0, 1]}, "positive numbers")):
        kwargs = {"model_type": "dcgan", "latent_class_names": ["a", "b", "c"], **kwargs}
        with pytest.raises(UserInputError, match=message):
            build_model(kwargs.pop("model_type"), image_size=16, latent_dim=8, base_width=8,
                        **kwargs)


@pytest.fixture(scope="module")
def latent_run(tmp_path_factory):
    """A tiny DCGAN with latent-coded classes from `genart train --latent-classes`, exported."""
    return _trained_and_exported(tmp_path_factory.mktemp("latent"), "--latent-classes")


def test_latent_classes_run_exports_z_only_and_serves_classes(latent_run, tmp_path, capsys):
    import onnx
    from fastapi.testclient import TestClient
    from PIL import Image

    from keras_genart.export.exporter import parity_limit
    from keras_genart.serving import Generator
    from keras_genart.serving.server import create_app

    model = latent_run["model"]
    styles = ["bauhaus", "kandinsky", "mondrian", "op_art", "suprematism"]
    assert model.latent_class_names == styles and model.class_names is None
    assert model.generator.get_layer("up1_resize") is not None  # resize, as --conditional
    metadata = json.loads((latent_run["version_dir"] / "metadata.json").read_text())
    assert not metadata["conditional"] and metadata["onnx"]["inputs"] == ["z"]
    assert metadata["latent_classes"]["class_names"] == styles
    assert sum(metadata["latent_classes"]["shares"]) == pytest.approx(1.0)
    assert all(v <= parity_limit(k) for k, v in metadata["parity_max_abs_diff"].items())
    proto = onnx.load(latent_run["version_dir"] / "model.onnx")
    assert [i.name for i in proto.graph.input] == ["z"]
    generator = Generator(latent_run["version_dir"])
    expected = model.generate(3, seed=5, labels="op_art", truncation=0.8)
    got = generator.sample(3, seed=5, label="op_art", truncation=0.8)
    assert np.abs(got / 255.0 - expected).max() <= 1 / 255 + 1e-6
    free = generator.sample(4, seed=6)
    assert np.abs(free / 255.0 - model.generate(4, seed=6)).max() <= 1 / 255 + 1e-6
    client = TestClient(create_app(latent_run["base"] / "models"))
    z = sample_latents(2, 8, seed=7)
    rows = client.post("/v1/models/dcgan:predict", json={"instances": z.tolist()})
    assert rows.status_code == 200, rows.text
    assert np.abs(np.array(rows.json()["predictions"])
                  - model.generate_from_latents(z)).max() <= 1e-4
    grid = client.get("/v1/models/dcgan:sample?n=2&seed=1&class=mondrian")
    assert grid.status_code == 200, grid.text
    with Image.open(io.BytesIO(grid.content)) as picture:
        assert picture.text["keras_genart.class"] == "mondrian"
        served = np.asarray(picture)[2:18, 2:18]
    assert np.abs(served / 255.0 - model.generate(1, seed=1, labels="mondrian")[0]).max() \
        <= 1 / 255 + 1e-6
    answer = client.get("/v1/models/dcgan:sample?class=dots")
    assert answer.status_code == 400 and "unknown class" in answer.json()["error"]
    sample = client.get("/openapi.json").json()["paths"]["/v1/models/dcgan:sample"]["get"]
    asked = [p for p in sample["parameters"] if p["name"] == "class"]
    assert asked and "op_art" in asked[0]["schema"]["enum"]
    # The CLI asks for classes too: one, a row per class, and a walk from one to another.
    out = tmp_path / "op.png"
    assert main(["sample", str(latent_run["dir"]), "--class", "op_art", "--n", "2",
                 "--seed", "3", "--out", str(out)]) == 0
    with Image.open(out) as picture:
        assert picture.text["keras_genart.class"] == "op_art"
        np.testing.assert_array_equal(np.asarray(picture)[2:18, 2:18],
                                      np.rint(model.generate(2, seed=3, labels=3)[0] * 255))
    assert main(["sample", str(latent_run["dir"]), "--per-class", "2", "--out",
                 str(tmp_path / "rows.png")]) == 0
    with Image.open(tmp_path / "rows.png") as grid:
        assert grid.size == (2 * 18 + 2, 5 * 18 + 2)
    _check_walk_between_classes(latent_run, tmp_path)


def test_latent_classes_take_the_data_shares_and_resume_only_on_the_same(tmp_path, capsys):
    from PIL import Image

    args = ["train", "dcgan", "--latent-classes", "--run-dir", str(tmp_path / "r"), *TINY]
    for name, colour, count in (("a", (200, 0, 0), 2), ("b", (0, 0, 200), 6)):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (16, 16), colour).save(tmp_path / "data" / name / f"{i}.png")
    args[args.index("builtin:abstract:20")] = str(tmp_path / "data")
    assert main([*args, "--epochs", "1"]) == 0
    from keras_genart.runs import load_trained_model

    assert load_trained_model(tmp_path / "r").latent_class_shares == pytest.approx([.25, .75])
    (tmp_path / "data" / "b").rename(tmp_path / "data" / "c")
    capsys.readouterr()
    assert main([*args, "--epochs", "2"]) == 2
    assert "was trained on the classes a, b and the data now has a, c" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                    reason="node and npm are not installed")
def test_node_example_asks_latent_coded_classes(latent_run, node_app, tmp_path):
    from PIL import Image

    from keras_genart.latents import latents_in_classes

    # latents.js's latentsInClasses is latents_in_classes (the studio's worker uses it too).
    z = sample_latents(300, 5, seed=3)
    labels = (np.arange(300) % 4).tolist()
    script = ("const l = require(process.argv[1]); const fs = require('fs');"
              "const z = Float32Array.from(JSON.parse(fs.readFileSync(process.argv[2])));"
              "const out = l.latentsInClasses(z, 5, JSON.parse(process.argv[3]), [1, 2, 3, 4]);"
              "fs.writeFileSync(process.argv[4], Buffer.from(out.buffer));")
    (tmp_path / "z.json").write_text(json.dumps(z.ravel().tolist()))
    subprocess.run(["node", "-e", script, os.path.join(_NODE_DIR, "latents.js"),
                    str(tmp_path / "z.json"), json.dumps(labels), str(tmp_path / "moved.bin")],
                   check=True, timeout=60)
    moved = np.fromfile(tmp_path / "moved.bin", np.float32).reshape(300, 5)
    np.testing.assert_allclose(moved, latents_in_classes(z, labels, [1, 2, 3, 4]), atol=1e-5)
    node = subprocess.run(["node", "generate.js", str(latent_run["version_dir"]), "--seed", "7",
                           "--n", "5", "--class", "op_art", "--out", str(tmp_path / "node.png")],
                          cwd=node_app, capture_output=True, text=True, timeout=120)
    assert node.returncode == 0, node.stderr
    assert main(["sample", str(latent_run["dir"]), "--seed", "7", "--n", "5", "--class",
                 "op_art", "--out", str(tmp_path / "python.png")]) == 0
    with Image.open(tmp_path / "node.png") as grid, \
            Image.open(tmp_path / "python.png") as reference:
        assert grid.text["keras_genart.class"] == "op_art"
        difference = np.abs(np.asarray(grid).astype(int) - np.asarray(reference).astype(int))
    assert difference.max() <= 1
