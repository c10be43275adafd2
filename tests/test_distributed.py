"""Data-parallel training on 2 logical CPU devices, on both backends (subprocesses:
devices are configured before the backend starts)."""

import json
import os
import subprocess
import sys

import pytest

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(backend):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    if backend == "jax":
        env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    return env


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_replicas_make_the_same_step_as_one_device(backend):
    out = subprocess.run([sys.executable, "-m", "tests.distributed_step"], cwd=ROOT,
                         env=_env(backend), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["backend"] == backend
    for kind in ("dcgan", "wgan-gp"):
        result = report[kind]
        assert result["replicas"] == 2
        # The step moved the weights (Adam's first step is about the learning rate) ...
        assert result["weights_moved"] > 1e-4
        # ... exactly as one device with the whole batch did. Had the replicas
        # drawn the same latents or interpolation factors, this would be off
        # by the learning rate.
        assert result["max_weight_difference"] < 1e-5, (kind, result)


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_cli_trains_on_two_devices(backend, tmp_path):
    run = tmp_path / "run"
    out = subprocess.run(
        [sys.executable, "-m", "keras_genart.cli", "train", "dcgan", "--backend", backend,
         "--devices", "2", "--data", "builtin:mondrian:16", "--image-size", "16",
         "--batch-size", "4", "--epochs", "1", "--steps-per-epoch", "2", "--latent-dim", "8",
         "--base-width", "8", "--run-dir", str(run), "--quiet"],
        cwd=ROOT, env=_env(backend), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    saved = json.loads((run / "config.json").read_text())
    assert saved["config"]["devices"] == 2
    assert saved["versions"]["backend"] == backend
    assert (run / "model.keras").exists()
    assert Image.open(run / "samples" / "epoch-0001.png").size[0] > 16
