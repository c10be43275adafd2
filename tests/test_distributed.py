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
def test_two_replicas_make_the_same_step_as_one_device_and_the_cli_trains_on_them(backend,
                                                                                 tmp_path):
    run = tmp_path / "run"
    out = subprocess.run([sys.executable, "-m", "tests.distributed_step", str(run)], cwd=ROOT,
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
    # `genart train --devices 2`, in the same interpreter.
    assert report["cli_returncode"] == 0, out.stderr[-3000:]
    saved = json.loads((run / "config.json").read_text())
    assert saved["asked"]["fit"]["devices"] == 2
    assert saved["versions"]["backend"] == backend
    assert (run / "model.keras").exists()
    assert Image.open(run / "samples" / "epoch-0001.png").size[0] > 16


def _free_ports(n):
    import socket

    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _cluster_env(backend, index, addresses):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("XLA_FLAGS", None)
    if backend == "tensorflow":
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": addresses},
                                       "task": {"type": "worker", "index": index}})
    else:
        env.update(KERAS_DISTRIBUTION_JOB_ADDRESSES=",".join(addresses),
                   KERAS_DISTRIBUTION_NUM_PROCESSES="2",
                   KERAS_DISTRIBUTION_PROCESS_ID=str(index))
    return env


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_processes_train_one_run(backend, tmp_path):
    # Two processes on 127.0.0.1 run the same command: TensorFlow's
    # MultiWorkerMirroredStrategy from TF_CONFIG, or jax.distributed from Keras'
    # KERAS_DISTRIBUTION_* variables. Process 0 writes the run folder.
    addresses = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    run = tmp_path / "run"
    command = [sys.executable, "-m", "keras_genart.cli", "train", "dcgan", "--backend",
               backend, "--data", "builtin:mondrian:16", "--image-size", "16",
               "--batch-size", "4", "--epochs", "2", "--steps-per-epoch", "2",
               "--latent-dim", "8", "--base-width", "8", "--run-dir", str(run), "--quiet"]
    processes = [subprocess.Popen(command, cwd=ROOT, env=_cluster_env(backend, i, addresses),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(2)]
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=300)
            results.append((process.returncode, err))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for returncode, err in results:
        assert returncode == 0, err[-3000:]
    assert (run / "model.keras").exists()
    assert sorted(os.listdir(run / "samples")) == ["epoch-0001.png", "epoch-0002.png"]
    assert json.loads((run / "checkpoints" / "state.json").read_text())["epoch"] == 2
    # Only process 0 wrote: the event files come from one process.
    writers = {name.split(".")[-2] for name in os.listdir(run / "logs" / "train")}
    assert len(writers) == 1, writers
