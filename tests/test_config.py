"""keras_genart.config: the one place a setting lives, what "auto" means, old runs."""

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys

import pytest

from keras_genart import config as settings
from keras_genart.cli import build_parser, main
from keras_genart.errors import UserInputError

DATA = os.path.join(os.path.dirname(__file__), "data")
GAN_ONLY = ("ema", "shared_fakes", "d_final_size", "d_normalization", "minibatch_std",
            "latent_classes", "r1", "r1_interval", "packing", "loss", "n_critic", "gp_weight")


def _parse(argv):
    args = build_parser().parse_args(["train", *argv])
    return settings.from_arguments(args, verbose=0)


def test_every_flag_of_the_last_release_resolves_as_it_did():
    # train_flags_v1.json: 43 command lines of `genart train`, each resolved by the
    # release before config.py on labelled and unlabelled, colour and gray data
    # (resolved_ema, resolved_upsampling, build_model's defaults, the optimizers').
    with open(os.path.join(DATA, "train_flags_v1.json")) as f:
        cases = json.load(f)
    assert len(cases) == 172
    for case in cases:
        argv = case["argv"] or ["dcgan"]
        asked = _parse(argv)
        if (asked.model.conditional or asked.model.latent_classes is True) and \
                not case["class_names"]:
            continue  # a model of classes on unlabelled data is refused when built
        resolved = settings.resolve(asked, case["class_names"], case["grayscale"],
                                    backend="tensorflow")
        flat = resolved.flat()
        flat["jit_compile"] = settings.compile_jit(resolved.fit)
        flat.pop("verbose")
        expected = dict(case["resolved"])
        if expected["model"] == "vae":
            for key in GAN_ONLY:
                flat.pop(key, None)
        assert flat == expected, (argv, case["class_names"], case["grayscale"])


def test_a_new_setting_is_one_field(monkeypatch, tmp_path, capsys):
    # A field added to ModelConfig, with its help, and nothing else: it is a flag of
    # `genart train`, it is written to config.json and it reaches the model's builder.
    extended = dataclasses.make_dataclass(
        "ModelConfig", [("sparkle", int, settings.setting(
            3, "how much the pictures sparkle", settings.positive_int))],
        bases=(settings.ModelConfig,))
    monkeypatch.setitem(settings.GROUPS, "model", extended)
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "how much the pictures sparkle (default: 3)" in " ".join(
        capsys.readouterr().out.split())

    from keras_genart.models import registry

    built = []
    real_build = registry._build
    monkeypatch.setattr(registry, "_build",
                        lambda config, *a: built.append(config) or real_build(config, *a))
    run = tmp_path / "run"
    assert main(["train", "dcgan", "--sparkle", "5", "--data", "builtin:mondrian:8",
                 "--image-size", "16", "--latent-dim", "8", "--base-width", "8",
                 "--batch-size", "4", "--epochs", "1", "--steps-per-epoch", "1",
                 "--quiet", "--run-dir", str(run)]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["asked"]["model"]["sparkle"] == saved["resolved"]["model"]["sparkle"] == 5
    assert [c.sparkle for c in built] == [5]
    with pytest.raises(UserInputError, match="sparkle: expected a positive integer, got 0"):
        settings.TrainConfig.from_flat(sparkle=0)


def test_dry_run_resolves_every_auto(capsys, tmp_path):
    for model in ("dcgan", "wgan-gp", "vae"):
        assert main(["train", model, "--dry-run", "--data", "builtin:abstract:8"]) == 0
        text = capsys.readouterr().out
        assert '"auto"' not in text
        resolved = json.loads(text)
        assert resolved["model"]["type"] == model
    assert resolved["model"]["ema"] is None and resolved["fit"]["lr"] == 1e-3
    assert main(["train", "dcgan", "--dry-run", "--conditional",
                 "--data", "builtin:abstract:8"]) == 0
    resolved = json.loads(capsys.readouterr().out)["model"]
    assert (resolved["upsampling"], resolved["d_normalization"]) == ("resize", "spectral")
    assert resolved["latent_classes"] is False


def test_a_missing_data_folder_fails_before_keras_loads(tmp_path):
    code = ("import sys\nfrom keras_genart.cli import main\n"
            f"code = main(['train', 'dcgan', '--data', {str(tmp_path / 'nope')!r}])\n"
            "print(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split()[-3:] == ["2", "False", "False"], out.stderr
    assert "data folder" in out.stderr and "nope" in out.stderr


@pytest.mark.parametrize("settings_,message", [
    (dict(colors="sepia"), "colors: expected auto, rgb, gray; got 'sepia'"),
    (dict(upsampling="bilinear"), "upsampling: expected auto, transpose, resize"),
    (dict(latent_classes="maybe"), "latent_classes: expected auto or true or false"),
    (dict(model="vae", d_final_size=8), "are for GANs"),
    (dict(model="wgan-gp", d_normalization="batch"), "cannot use batch normalization"),
    (dict(conditional=True, packing=2), "does not pack"),
    (dict(batch_size=6, devices=4), "does not split evenly over 4 devices"),
    (dict(image_size=16, d_final_size=16), "may be 4, 8 pixels wide"),
    (dict(epochs=True), "epochs: expected a positive integer, got True"),
    (dict(colour="rgb"), "unknown setting colour"),
])
def test_bad_settings_name_the_setting(settings_, message):
    with pytest.raises(UserInputError, match=message):
        settings.TrainConfig.from_flat(**settings_)


def test_config_json_round_trips_nested_and_flat():
    config = settings.TrainConfig.from_flat(model="wgan-gp", data="builtin:bauhaus",
                                            epochs=3, augment=["color"], ema=None, seed=4)
    again = settings.TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert settings.TrainConfig.from_dict(config.flat()) == config
    assert config.flat()["model"] == "wgan-gp" and config.model.ema is None


def _copy_run(name, tmp_path):
    run = tmp_path / name
    shutil.copytree(os.path.join(DATA, name), run)
    return run


V1_ARGS = ["--data", "builtin:abstract:8", "--image-size", "16", "--base-width", "8",
           "--max-width", "16", "--latent-dim", "8", "--batch-size", "4",
           "--steps-per-epoch", "1", "--quiet"]


@pytest.mark.parametrize("model", ["dcgan", "vae"])
def test_a_run_of_the_last_release_resumes_with_the_same_command(model, tmp_path, capsys):
    # run_v1_*: one epoch trained by the release before config.py (config.json version
    # 1, flat and with "auto" unresolved), with its checkpoint.
    from keras_genart.runs import load_trained_model

    run = _copy_run(f"run_v1_{model}", tmp_path)
    assert main(["train", model, "--epochs", "2", "--run-dir", str(run), *V1_ARGS]) == 0
    assert f"resuming {run} from epoch 1" in capsys.readouterr().out
    trained = load_trained_model(run)
    assert int(trained.optimizer.iterations.numpy()) == 2
    saved = json.loads((run / "config.json").read_text())
    assert saved["config_version"] == settings.CONFIG_VERSION
    assert saved["asked"]["fit"]["epochs"] == 2
    assert saved["created"] == "2026-12-03T17:56:49+0000" or model == "vae"
    if model == "dcgan":
        assert saved["resolved"]["model"]["latent_classes"] is True
        assert trained.label_names[0] == "bauhaus"
    # and once more, from the version-2 file it now has
    assert main(["train", model, "--epochs", "3", "--run-dir", str(run), *V1_ARGS]) == 0


def test_a_resume_compares_what_the_settings_mean(tmp_path, capsys):
    run = _copy_run("run_v1_dcgan", tmp_path)
    # Asked differently but meaning the same: resumes.
    assert main(["train", "dcgan", "--epochs", "2", "--run-dir", str(run), "--ema", "0.999",
                 "--upsampling", "resize", "--colors", "rgb", *V1_ARGS]) == 0
    assert main(["train", "dcgan", "--epochs", "3", "--run-dir", str(run), "--ema", "0.5",
                 *V1_ARGS]) == 2
    assert "ema: 0.999 in the run, 0.5 now" in capsys.readouterr().err
    assert main(["train", "dcgan", "--epochs", "3", "--run-dir", str(run),
                 "--latent-classes", "false", *V1_ARGS]) == 2
    assert "latent_classes: True in the run, False now" in capsys.readouterr().err
    assert main(["train", "dcgan", "--epochs", "3", "--run-dir", str(run),
                 "--upsampling", "transpose", *V1_ARGS]) == 2
    assert "upsampling: 'resize' in the run, 'transpose' now" in capsys.readouterr().err


def test_settings_a_run_predates_resume_as_they_were():
    # A version-1 run saved before `ema` existed had no moving average: the same
    # command (today's "auto") resumes it as it was, and asking for one is refused.
    asked = settings.TrainConfig.from_flat(run_dir="r")
    payload = {"config": {k: v for k, v in asked.flat().items()
                          if k not in ("ema", "r1", "r1_interval", "upsampling",
                                       "shared_fakes")}}
    saved = settings.read_run_config(payload)
    resumed = settings.resume_settings(saved, asked)
    assert resumed.model.ema is None and resumed.model.shared_fakes is False
    assert resumed.model.upsampling == "transpose"
    with pytest.raises(UserInputError, match="ema: None in the run, 0.5 now"):
        settings.resume_settings(saved, settings.TrainConfig.from_flat(run_dir="r", ema=0.5))
    # a gray run resumes without --colors gray (its auto meant gray)
    gray = settings.read_run_config(settings.run_record(
        asked, settings.resolve(asked, grayscale=True)))
    assert settings.resume_settings(gray, asked, grayscale=True).model.colors == "gray"
    assert settings.resume_settings(
        gray, settings.TrainConfig.from_flat(run_dir="r", colors="gray")).model.colors == "gray"


def test_build_model_with_no_options_is_the_recipe_genart_train_trains():
    from keras_genart.models import build_model
    from keras_genart.runs import build_compiled_model

    import keras

    config = settings.TrainConfig.from_flat(image_size=16, latent_dim=8, base_width=8,
                                            max_width=16)
    keras.backend.clear_session()  # the same automatic layer names in both
    library = build_model("dcgan", image_size=16, latent_dim=8, base_width=8, max_width=16,
                          seed=0)
    keras.backend.clear_session()
    cli = build_compiled_model(config)
    assert json.dumps(library.get_config(), sort_keys=True) == json.dumps(
        cli.get_config(), sort_keys=True)
    assert library.ema == 0.999 and library.shared_fakes
    assert cli.g_optimizer.learning_rate.numpy() == pytest.approx(2e-4)


def test_the_demo_is_a_named_preset():
    demo = settings.run_preset("demo", epochs=1)
    assert demo.data.source == "builtin:abstract:4096" and demo.fit.steps_per_epoch == 250
    assert demo.fit.epochs == 1 and demo.run_dir == os.path.join("runs", "demo")
    with pytest.raises(UserInputError, match="unknown preset 'best'"):
        settings.run_preset("best")


def test_help_of_a_preset_setting_is_made_from_the_preset():
    parser = argparse.ArgumentParser()
    settings.add_arguments(parser)
    helps = {a.dest: a.help for a in parser._actions}
    assert "dcgan 0.0002, wgan-gp 0.0001, vae 0.001" in helps["fit.lr"]
    assert "auto: dcgan 8, wgan-gp 4" in helps["model.d_final_size"]
