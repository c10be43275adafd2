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
    # Two devices in each JAX process, of which `--devices 1` asks for one.
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
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
    command = [sys.executable, "-m", "tests.distributed_step", "--process", "train", "dcgan",
               "--backend", backend, "--data", "builtin:mondrian:16", "--image-size", "16",
               "--batch-size", "4", "--epochs", "2", "--steps-per-epoch", "2",
               "--latent-dim", "8", "--base-width", "8", "--run-dir", str(run), "--quiet"]
    processes = [subprocess.Popen(command, cwd=ROOT, env=_cluster_env(backend, i, addresses),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(2)]
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=300)
            results.append((process.returncode, out, err))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for returncode, _, err in results:
        assert returncode == 0, err[-3000:]
    reports = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in results]
    assert [r["returncode"] for r in reports] == [0, 0]
    # One device per process (--devices 1, though each JAX process has two): 2 replicas.
    assert [r["replicas"] for r in reports] == [2, 2]
    # Each process trained on its own half of every global batch of 4 ...
    for step in range(4):
        halves = [r["steps"][step] for r in reports]
        assert [len(h) for h in halves] == [2, 2], halves
        assert not set(halves[0]) & set(halves[1]), halves
    # ... and both ended with the same weights.
    assert reports[0]["weights"] == reports[1]["weights"]
    assert (run / "model.keras").exists()
    assert sorted(os.listdir(run / "samples")) == ["epoch-0001.png", "epoch-0002.png"]
    assert json.loads((run / "checkpoints" / "state.json").read_text())["epoch"] == 2
    # Only process 0 wrote: the event files come from one process.
    writers = {name.split(".")[-2] for name in os.listdir(run / "logs" / "train")}
    assert len(writers) == 1, writers


@pytest.mark.parametrize("settings,message", [
    (dict(batch_size=5), "batch size 5 does not split evenly over 2 replicas (2 processes "
                         "x 1 device each); choose a multiple of 2"),
    (dict(batch_size=6, packing=2), "packing 2 must be at least 1 and divide the batch of "
                                    "each replica (3: batch size 6 over 2 processes x 1 "
                                    "device each)"),
])
def test_a_batch_that_the_processes_cannot_split_is_refused_in_one_line(
        settings, message, monkeypatch, tmp_path):
    # As process 0 of 2, in this test's backend: the check comes before anything starts
    # (no cluster is joined); a single process would take these settings.
    assert _refusal_as_process_0_of_2(monkeypatch, tmp_path, **settings) == message


def _refusal_as_process_0_of_2(monkeypatch, tmp_path, **settings):
    """The UserInputError's message of `runs.train` in process 0 of a 2-process cluster
    of this test's backend; the run folder must not have been made."""
    import keras

    from keras_genart import runs
    from keras_genart.config import TrainConfig
    from keras_genart.errors import UserInputError

    addresses = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    for name, value in _cluster_env(keras.backend.backend(), 0, addresses).items():
        if name.startswith(("TF_CONFIG", "KERAS_DISTRIBUTION_")):
            monkeypatch.setenv(name, value)
    config = TrainConfig.from_flat(model="dcgan", data="builtin:mondrian:16", image_size=16,
                                   run_dir=str(tmp_path / "run"), **settings)
    with pytest.raises(UserInputError) as error:
        runs.train(config, log=lambda line: None)
    assert not (tmp_path / "run").exists()
    return str(error.value)


def test_a_tensorflow_worker_without_gpus_refuses_more_than_one_device(monkeypatch,
                                                                      tmp_path):
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("a TensorFlow worker")
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a TensorFlow worker on a CPU")
    # It used to take every device it saw, whatever --devices said.
    assert _refusal_as_process_0_of_2(monkeypatch, tmp_path, batch_size=4, devices=2) == (
        "--devices 2: this worker of the TensorFlow cluster has no GPU, and a worker "
        "trains on its CPU as one device; pass --devices 1")
