"""Runs a DCGAN step under MirroredStrategy on 2 logical CPUs, in a subprocess.

Logical devices must be configured before TensorFlow initialises, so this runs
in a fresh interpreter.
"""

import json
import subprocess
import sys

SCRIPT = r"""
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from keras_genart.models import build_model
images = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = build_model("wgan-gp", image_size=16, latent_dim=8, base_width=8, n_critic=1, seed=0)
    model.compile()
ds = tf.data.Dataset.from_tensor_slices(images).batch(4, drop_remainder=True).repeat()
history = model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0)
values = {k: v[-1] for k, v in history.history.items()}
print(json.dumps({"ok": all(np.isfinite(list(values.values()))), "replicas": strategy.num_replicas_in_sync, "logs": values}))
"""


def run_mirrored():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         timeout=300)
    if out.returncode != 0:
        return {"ok": False, "stderr": out.stderr[-3000:]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["ok"] = result["ok"] and result["replicas"] == 2
    return result
