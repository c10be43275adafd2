"""keras_genart on JAX with TensorFlow hidden: what a JAX-only machine gets."""

import json
import os
import subprocess
import sys

from keras_genart.callbacks.summaries import read_events

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = r"""
import importlib.abc, json, os, sys

class HideTensorFlow(importlib.abc.MetaPathFinder):
    # What a machine without TensorFlow (nor tensorboard) looks like to every import.
    HIDDEN = ("tensorflow", "tensorflow_datasets", "tf2onnx", "tf_keras", "tensorboard")

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, HideTensorFlow())
os.environ["KERAS_BACKEND"] = "jax"

import numpy as np
from PIL import Image

import keras_genart.models
from keras_genart.cli import main
from keras_genart.data import load_images
from keras_genart.errors import MissingDependencyError
from keras_genart.runs import TrainConfig, train

out = sys.argv[1]
report = {}
# An image folder of a user's own pictures.
folder = os.path.join(out, "pictures")
os.makedirs(folder)
rng = np.random.default_rng(0)
for i in range(8):
    Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(
        os.path.join(folder, f"p{i}.png"))
tiny = dict(image_size=16, batch_size=4, steps_per_epoch=2, latent_dim=8, base_width=8,
            num_samples=4, verbose=0)
for model, data in (("dcgan", "builtin:mondrian:16"), ("wgan-gp", folder), ("vae", folder)):
    run = os.path.join(out, model)
    train(TrainConfig.from_flat(model=model, data=data, epochs=2, run_dir=run, n_critic=2,
                                **tiny),
          log=lambda *_: None)
    report[model] = {"files": sorted(os.listdir(run)),
                     "samples": sorted(os.listdir(os.path.join(run, "samples")))}
report["sample_rc"] = main(["sample", os.path.join(out, "dcgan"), "--n", "4",
                            "--out", os.path.join(out, "art.png")])
try:
    load_images("tfds:mnist")
    report["tfds"] = "no error"
except MissingDependencyError as e:
    report["tfds"] = str(e)
report["export_rc"] = main(["export", os.path.join(out, "dcgan"), "--out", os.path.join(out, "exported")])
report["tensorflow_loaded"] = any(m.split(".")[0] in HideTensorFlow.HIDDEN for m in sys.modules)
import keras
report["backend"] = keras.backend.backend()
print(json.dumps(report))
"""


def test_trains_samples_and_logs_on_jax_without_tensorflow(tmp_path):
    env = dict(os.environ, KERAS_BACKEND="jax")
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stderr[-4000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax"
    assert report["tensorflow_loaded"] is False
    for model in ("dcgan", "wgan-gp", "vae"):
        assert {"model.keras", "config.json", "logs", "samples"} <= set(report[model]["files"])
        assert report[model]["samples"] == ["epoch-0001.png", "epoch-0002.png"]
        # TensorBoard (here, with tensorboard installed) reads the logs written without it.
        events = read_events(str(tmp_path / model / "logs"))
        assert [step for tag, step, _ in events if tag == "samples"] == [0, 1]
        assert any(tag.startswith("epoch_") for tag, _, _ in events)
    assert report["sample_rc"] == 0 and (tmp_path / "art.png").exists()
    # What needs TensorFlow says so in one line, without a traceback.
    assert "needs TensorFlow" in report["tfds"] and "\n" not in report["tfds"]
    assert report["export_rc"] == 2
    assert "needs TensorFlow" in out.stderr and "Traceback" not in out.stderr
