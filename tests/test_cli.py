import json
import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from keras_genart.cli import main
from keras_genart.errors import UserInputError

TINY_ARGS = ["--data", "builtin:abstract:32", "--image-size", "16", "--batch-size", "4",
             "--latent-dim", "8", "--base-width", "8", "--quiet"]


def _genart(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "keras_genart.cli", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_help_lists_every_option_with_defaults(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # unwrap help lines
    for option in ("--data", "--image-size", "--batch-size", "--epochs", "--steps-per-epoch",
                   "--latent-dim", "--lr", "--beta1", "--seed", "--run-dir", "--dry-run"):
        assert option in out
    assert "(default: 32)" in out and "(default: builtin:abstract)" in out


def test_every_option_of_every_command_shows_one_readable_default():
    import argparse
    import re

    from keras_genart.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    checked = 0
    for name, sub in commands.choices.items():
        formatter = sub._get_formatter()
        for action in sub._actions:
            if not action.option_strings or action.help == argparse.SUPPRESS or \
                    isinstance(action, argparse._HelpAction):
                continue
            text = formatter._expand_help(action)
            where = f"genart {name} {action.option_strings[0]}: {text!r}"
            assert len(re.findall(r"\(default: |\(required\)", text)) == 1, where
            assert not re.search(r"\(default: (None|False|True|\[)", text), where
            checked += 1
    assert checked > 50


def test_dry_run_is_silent_on_stderr_and_verbose_keeps_the_lines():
    quiet = _genart("train", "dcgan", "--dry-run")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert json.loads(quiet.stdout)["model"]["type"] == "dcgan"


def test_help_does_not_import_tensorflow():
    code = ("import sys\nfrom keras_genart.cli import build_parser\n"
            "try:\n    build_parser().parse_args(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_dry_run_prints_resolved_config(capsys, tmp_path):
    assert main(["train", "vae", "--dry-run", "--run-dir", str(tmp_path / "r"), *TINY_ARGS]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["model"]["type"] == "vae" and config["model"]["image_size"] == 16
    # auto: always XLA on JAX; on TensorFlow the faster of the two, timed in a long run
    jit = True if os.environ.get("KERAS_BACKEND") == "jax" else "fastest"
    assert config["model"]["augment"] == [] and config["fit"]["jit_compile"] == jit
    assert config["model"]["ema"] is None and config["model"]["shared_fakes"] is False
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args,message", [
    (["train", "dcgan", "--image-size", "48"], "48 is not supported; choose 16, 32, 64 or 128"),
    (["train", "dcgan", "--batch-size", "0"], "expected a positive integer, got '0'"),
    (["train", "dcgan", "--lr", "-1"], "expected a positive number"),
    (["train", "dcgan", "--augment", "spin"], "unknown augmentation spin"),
    (["train", "gan9"], "invalid choice: 'gan9'"),
])
def test_bad_options_get_one_line_errors(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_user_errors_are_one_line(capsys, tmp_path):
    code = main(["train", "dcgan", "--data", str(tmp_path / "nope"), "--run-dir",
                 str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().startswith("genart train: error: data folder") and "nope" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["sample", str(tmp_path / "missing.keras")]) == 2
    assert "missing.keras' does not exist" in capsys.readouterr().err
    assert main(["train", "wgan-gp", "--d-norm", "batch", "--run-dir", str(tmp_path / "w"),
                 *TINY_ARGS]) == 2
    assert "cannot use batch normalization" in capsys.readouterr().err


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
                    reason="the CLI's train-and-sample flow on JAX: test_tf_free (without "
                           "TensorFlow installed) and the resume test below")
def test_train_then_sample_end_to_end(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "dcgan", "--epochs", "2", "--steps-per-epoch", "2",
                 "--run-dir", str(run), *TINY_ARGS]) == 0
    # Labelled data: the DCGAN learns the classes through its latents, and says so.
    assert ("note: the data has 5 classes; the generator learns them through its latents"
            in capsys.readouterr().out)
    assert sorted(os.listdir(run)) == ["checkpoints", "config.json", "logs", "model.keras",
                                       "samples"]
    config = json.loads((run / "config.json").read_text())
    assert config["asked"]["model"]["type"] == "dcgan" and config["class_names"][0] == "bauhaus"
    assert config["asked"]["model"]["latent_classes"] == "auto"
    assert config["resolved"]["model"]["latent_classes"] is True
    assert config["data_summary"]["num_images"] == 32 and "tensorflow" in config["versions"]
    assert sorted(os.listdir(run / "samples")) == ["epoch-0001.png", "epoch-0002.png"]

    out = tmp_path / "art.png"
    assert main(["sample", str(run), "--n", "4", "--seed", "7", "--out", str(out),
                 "--separate", str(tmp_path / "single")]) == 0
    grid = Image.open(out)
    assert grid.size == (2 * 16 + 3 * 2,) * 2
    assert grid.text["keras_genart.model_type"] == "dcgan"
    assert grid.text["keras_genart.seed"] == "7"
    assert grid.text["keras_genart.model"] == str(run) and "default_rng(seed)" in \
        grid.text["keras_genart.latents"]
    singles = sorted(os.listdir(tmp_path / "single"))
    assert singles == [f"seed7-{i:04d}.png" for i in range(4)]
    one = Image.open(tmp_path / "single" / singles[2])
    assert one.size == (16, 16) and one.text["keras_genart.index"] == "2"
    assert "keras_genart" in one.text["Software"]

    # Same seed, same pictures; the .keras file works as well as the folder, and a
    # fresh process finds every custom class.
    again = tmp_path / "again.png"
    fresh = _genart("sample", str(run / "model.keras"), "--n", "4", "--seed", "7",
                    "--out", str(again))
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stderr == ""  # no TensorFlow start-up lines, no cuInit error
    assert Image.open(again).tobytes() == grid.tobytes()

    # Training a finished run again does nothing (but restores a missing
    # model.keras); other settings are refused.
    (run / "model.keras").unlink()
    assert main(["train", "dcgan", "--epochs", "2", "--steps-per-epoch", "2",
                 "--run-dir", str(run), *TINY_ARGS]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert (run / "model.keras").exists()
    assert main(["train", "dcgan", "--epochs", "2", "--steps-per-epoch", "2",
                 "--run-dir", str(run), *TINY_ARGS, "--latent-dim", "16"]) == 2
    assert "latent_dim" in capsys.readouterr().err
    assert main(["train", "dcgan", "--epochs", "2", "--steps-per-epoch", "2",
                 "--run-dir", str(run), *TINY_ARGS, "--latent-classes", "false"]) == 2
    assert "latent_classes: True in the run, False now" in capsys.readouterr().err
    from keras_genart.runs import load_trained_model

    assert load_trained_model(run).latent_class_names[0] == "bauhaus"


def test_demo_trains_the_default_model_and_draws_a_row_per_style(tmp_path, monkeypatch,
                                                                   capsys):
    from keras_genart.cli import train as cli

    # The demo's own settings, shrunk: the same data set, model and grid.
    from keras_genart import config as settings

    tiny = dict(settings.RUN_PRESETS["demo"], data="builtin:abstract:20", image_size=16,
                batch_size=4, steps_per_epoch=2, latent_dim=8, base_width=8)
    monkeypatch.setitem(settings.RUN_PRESETS, "demo", tiny)
    monkeypatch.setattr(cli, "DEMO_PER_CLASS", 3)
    out = tmp_path / "artwork.png"
    assert main(["demo", "--epochs", "1", "--run-dir", str(tmp_path / "demo"),
                 "--out", str(out)]) == 0
    assert "rows: bauhaus, kandinsky, mondrian, op_art, suprematism" in capsys.readouterr().out
    config = json.loads((tmp_path / "demo" / "config.json").read_text())["asked"]
    assert config["model"]["latent_classes"] == "auto"
    assert config["data"]["source"] == "builtin:abstract:20"
    from keras_genart.runs import load_trained_model

    model = load_trained_model(tmp_path / "demo")  # the styles through its latents
    assert model.latent_class_names[3] == "op_art" and model.class_names is None
    grid = Image.open(out)
    assert grid.size == (3 * 16 + 4 * 2, 5 * 16 + 6 * 2)  # 3 columns, a row per style
    assert grid.text["keras_genart.class"] == "one row per class"


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
                    reason="kill-and-resume is file handling, the same on every backend")
def test_killed_training_resumes_from_last_epoch(tmp_path):
    run = tmp_path / "run"
    args = [sys.executable, "-m", "keras_genart.cli", "train", "vae", "--epochs", "40",
            "--steps-per-epoch", "2", "--run-dir", str(run), *TINY_ARGS]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    state = run / "checkpoints" / "state.json"
    deadline = time.time() + 240
    while time.time() < deadline:
        if state.exists() and json.loads(state.read_text())["epoch"] >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = json.loads(state.read_text())["epoch"]
    assert 2 <= done < 40
    assert not (run / "model.keras").exists()
    # No half-written checkpoint: state names a loadable file.
    from keras_genart.runs import load_trained_model

    assert load_trained_model(run).optimizer.iterations.numpy() == 2 * done

    resumed = _genart("train", "vae", "--epochs", str(done + 2), "--steps-per-epoch", "2",
                      "--run-dir", str(run), *TINY_ARGS)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {run} from epoch {done}" in resumed.stdout
    final = load_trained_model(run)
    assert int(final.optimizer.iterations.numpy()) == 2 * (done + 2)
    assert json.loads(state.read_text())["epoch"] == done + 2


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    # Stopped after epoch 1 and resumed, a run sees the same batches, latents
    # and augmentations as one that never stopped. 24 images in batches of 4
    # make 6 steps a pass; 4 steps an epoch, so epochs cross passes.
    import numpy as np

    from keras_genart.runs import TrainConfig, train

    common = dict(model="dcgan", data="builtin:abstract:24", image_size=16, batch_size=4,
                  steps_per_epoch=4, latent_dim=8, base_width=8, num_samples=4,
                  augment=["flip", "translate", "color"], verbose=0)
    quiet = lambda *_: None  # noqa: E731
    straight = train(TrainConfig.from_flat(epochs=3, run_dir=str(tmp_path / "a"), **common),
                     log=quiet)
    train(TrainConfig.from_flat(epochs=1, run_dir=str(tmp_path / "b"), **common), log=quiet)
    resumed = train(TrainConfig.from_flat(epochs=3, run_dir=str(tmp_path / "b"), **common),
                    log=quiet)
    assert int(resumed.g_optimizer.iterations) == int(straight.g_optimizer.iterations) == 12
    difference = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
                     for a, b in zip(straight.get_weights(), resumed.get_weights()))
    assert difference <= 1e-6


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
                    reason="the CLI's output, the same on every backend: checked once")
def test_progress_in_a_log_file_is_one_line_per_epoch(tmp_path):
    # stdout is a pipe here, as when a run is logged to a file: no progress-bar updates.
    args = [a for a in TINY_ARGS if a != "--quiet"]
    result = _genart("train", "dcgan", "--epochs", "2", "--steps-per-epoch", "3",
                     "--run-dir", str(tmp_path / "run"), *args)
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout and "━" not in result.stdout
    assert "Epoch 1/2" in result.stdout and "Epoch 2/2" in result.stdout


def _gray_folder_args(tmp_path):
    """TINY_ARGS with --data a folder of 8 gray 16 px pictures."""
    import numpy as np

    data = tmp_path / "gray"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(data / f"{i}.png")
    return [str(data) if a == "builtin:abstract:32" else a for a in TINY_ARGS]


def test_gray_data_trains_a_gray_generator_unless_told_otherwise(tmp_path, capsys):
    import numpy as np

    from keras_genart.runs import TrainConfig, load_trained_model

    args = _gray_folder_args(tmp_path)
    for colors, gray in (("auto", True), ("rgb", False)):
        run = tmp_path / colors
        assert main(["train", "dcgan", "--epochs", "1", "--steps-per-epoch", "1", "--colors",
                     colors, "--run-dir", str(run), *args]) == 0
        assert "kept 8, skipped 0, gray" in capsys.readouterr().out
        assert load_trained_model(run).gray == gray
        picture = np.asarray(Image.open(run / "samples" / "epoch-0001.png"))
        assert np.array_equal(picture[..., 0], picture[..., 2]) == gray
    with pytest.raises(UserInputError, match="colors: expected auto, rgb, gray; got 'sepia'"):
        TrainConfig.from_flat(colors="sepia")


def test_sample_tells_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["sample", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"'{tmp_path}' is not a run folder (no config.json" in err


def test_a_resumed_run_keeps_what_auto_meant_in_it(tmp_path, capsys):
    # Trained on gray pictures with --colors auto: resumed without the flag, or with
    # --colors gray (what auto meant), it goes on; --colors rgb is another model.
    args = _gray_folder_args(tmp_path)
    run = str(tmp_path / "run")
    assert main(["train", "dcgan", "--epochs", "1", "--steps-per-epoch", "1", "--run-dir",
                 run, *args]) == 0
    assert main(["train", "dcgan", "--epochs", "2", "--steps-per-epoch", "1", "--run-dir",
                 run, "--colors", "gray", *args]) == 0
    assert main(["train", "dcgan", "--epochs", "3", "--steps-per-epoch", "1", "--run-dir",
                 run, "--colors", "rgb", *args]) == 2
    assert "colors: 'gray' in the run, 'rgb' now" in capsys.readouterr().err


def _fake_artifacts(base):
    """A run folder and two exported versions whose files say what they are (type,
    classes) but hold no weights: enough for every check made before a backend loads."""
    import zipfile

    run = base / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    with zipfile.ZipFile(run / "model.keras", "w") as archive:
        archive.writestr("config.json", json.dumps({
            "registered_name": "keras_genart>DCGAN",
            "config": {"latent_class_names": ["bauhaus", "op_art"]}}))
    versions = {}
    for name, extra in (("dcgan", {"conditional": True, "class_names": ["a", "b"]}),
                        ("vae", {})):
        version = base / name / "1"
        version.mkdir(parents=True)
        (version / "metadata.json").write_text(json.dumps(
            {"model_type": name, "latent_dim": 8, "image_size": 16, "channels": 3, **extra}))
        (version / "model.onnx").write_bytes(b"")
        versions[name] = version
    return run, versions


def test_mistakes_fail_before_a_backend_loads(tmp_path):
    run, versions = _fake_artifacts(tmp_path)
    picture = tmp_path / "p.png"
    Image.new("RGB", (16, 16)).save(picture)
    cases = [
        (["sample", str(tmp_path / "nothere")], "nothere' does not exist; pass a run folder"),
        (["sample", str(tmp_path)], "is not a run folder (no config.json"),
        (["sample", str(run), "--class", "dots"], "unknown class 'dots'; the classes are "
                                                  "bauhaus, op_art"),
        (["sample", str(run), "--per-class", "2", "--class", "op_art"], "leave out --class"),
        (["sample", str(versions["vae"]), "--per-class", "2"], "is for models that learnt"),
        (["sample", str(versions["dcgan"]), "--class", "c"], "unknown class 'c'"),
        (["interpolate", str(run), "--to-class", "op_art"], "--to-class walks from the class"),
        (["interpolate", str(versions["dcgan"]), "--class", "a", "--to-class", "b"],
         "is an exported version, which takes one class per picture"),
        (["vary", str(versions["dcgan"]), str(picture)], "is a dcgan: variations"),
        (["vary", str(run), str(picture)], "is a dcgan: variations"),
        (["export", str(versions["dcgan"]), "--out", str(tmp_path / "x")],
         "is an exported version (metadata.json), not a Keras model"),
        (["evaluate", str(run), "--generated", str(tmp_path), "--data", "builtin:abstract"],
         "evaluate one thing"),
        (["evaluate", str(run), "--data", str(tmp_path / "none")], "data folder"),
        (["evaluate", str(run), "--data", str(tmp_path), "--metrics", "classes"],
         "needs --classifier MODEL.keras"),
        (["prepare", "builtin:nope", "--out", str(tmp_path / "a"), "--image-size", "16"],
         "unknown built-in data set 'nope'"),
        (["prepare", str(tmp_path / "none"), "--out", str(tmp_path / "a"), "--image-size",
          "16"], "does not exist or is not a folder"),
        (["prepare", "tfds:mnist", "--out", str(picture), "--image-size", "16"], "is a file"),
    ]
    code = ("import contextlib, io, json, sys\nfrom keras_genart.cli import main\n"
            "out = []\nfor argv in json.loads(sys.argv[1]):\n    err = io.StringIO()\n"
            "    with contextlib.redirect_stderr(err):\n        rc = main(argv)\n"
            "    out.append([rc, err.getvalue()])\n"
            "out.append(sorted(m for m in ('tensorflow', 'keras', 'jax', 'onnxruntime')\n"
            "                  if m in sys.modules))\nprint(json.dumps(out))")
    done = subprocess.run([sys.executable, "-c", code, json.dumps([c[0] for c in cases])],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    *answers, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    for (argv, message), (rc, err) in zip(cases, answers):
        assert rc == 2 and message in err and len(err.strip().splitlines()) == 1, (argv, err)
    assert loaded == []  # no TensorFlow, Keras, JAX (nor onnxruntime) for any of them


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
                    reason="the export fixture needs TensorFlow's backend")
def test_sample_and_interpolate_an_exported_version(exported, tmp_path):
    import numpy as np

    from keras_genart.serving import Generator

    version = str(exported["version_dir"])
    assert main(["sample", version, "--n", "4", "--seed", "3", "--out",
                 str(tmp_path / "onnx.png"), "--separate", str(tmp_path / "single")]) == 0
    assert main(["sample", str(exported["keras_path"]), "--n", "4", "--seed", "3", "--out",
                 str(tmp_path / "keras.png")]) == 0
    with Image.open(tmp_path / "onnx.png") as grid, Image.open(tmp_path / "keras.png") as keras:
        assert grid.text["keras_genart.model_type"] == "dcgan"
        assert grid.text["keras_genart.model"] == os.path.abspath(version)
        difference = np.abs(np.asarray(grid).astype(int) - np.asarray(keras).astype(int))
    assert difference.max() <= 1  # onnxruntime against Keras: within 1e-4 before rounding
    single = np.asarray(Image.open(tmp_path / "single" / "seed3-0002.png"))
    np.testing.assert_array_equal(single, Generator(version).sample(4, seed=3)[2])
    assert main(["interpolate", version, "--from-seed", "4", "--to-seed", "9", "--steps", "3",
                 "--out", str(tmp_path / "walk.gif")]) == 0
    with Image.open(tmp_path / "walk.gif") as walk:
        assert walk.n_frames == 3
    with Image.open(tmp_path / "walk.png") as grid:
        frames = np.asarray(grid)
    path = Generator(version).interpolate(4, 9, steps=3)
    np.testing.assert_array_equal(frames[2:18, 2:18], path[0])
    np.testing.assert_array_equal(frames[2:18, 38:54], path[2])


def test_artifacts_know_the_keras_classes_model_types_before_loading():
    import keras

    from keras_genart.artifacts import KERAS_MODEL_TYPES
    from keras_genart.models import MODEL_TYPES, register_all

    register_all()
    assert sorted(KERAS_MODEL_TYPES.values()) == sorted(MODEL_TYPES)
    for name, model_type in KERAS_MODEL_TYPES.items():
        assert keras.saving.get_registered_object(name).model_type == model_type


def test_serve_says_in_one_line_when_orjson_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "orjson", None)  # import orjson raises ImportError
    assert main(["serve", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("genart serve: error: genart serve needs orjson, which is not "
                          "installed here") and len(err.splitlines()) == 1
