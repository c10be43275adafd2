#!/usr/bin/env bash
# One prepared check for a lent GPU machine that has JAX and Keras but no TensorFlow.
#
#   bash benchmarks/gpu_check.sh [STEPS]        (from the repository root; nothing is downloaded)
#
# Trains keras_genart's DCGAN at 64 px, batch 256, bfloat16, on builtin:abstract
# through the library's own fit, on Keras' JAX backend, and prints images/s
# (after the compiling first steps), the GPU memory peak, and writes a sample
# grid to $OUT/gpu_samples.png (or ./gpu_samples.png). If the machine's Keras
# is missing or older than 3.8, carry a Keras wheel in the working tree and
# `pip install --no-deps` it first.
set -euo pipefail
cd "$(dirname "$0")/.."
export KERAS_BACKEND=jax PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # so the memory peak is what training used
STEPS="${1:-300}" OUTDIR="${OUT:-.}" python - <<'PY'
import os, sys, time

missing = []
for name in ("jax", "keras", "numpy", "PIL"):
    try:
        __import__(name)
    except ImportError:
        missing.append(name)
if missing:
    sys.exit(f"gpu_check: missing {', '.join(missing)} on this machine")
import jax, keras, numpy as np
major, minor = (int(p) for p in keras.__version__.split(".")[:2])
if (major, minor) < (3, 8):
    sys.exit(f"gpu_check: Keras {keras.__version__} is too old (3.8+); carry a Keras wheel")

from keras_genart import imaging
from keras_genart.data import load_images, make_dataset
from keras_genart.models import build_model

steps, batch, warmup = int(os.environ["STEPS"]), 256, 20
print(f"devices: {jax.devices()}; JAX {jax.__version__}, Keras {keras.__version__}", flush=True)
start = time.perf_counter()
data = load_images("builtin:abstract:8192", image_size=64, seed=0)
print(f"data: {data.describe()} in {time.perf_counter() - start:.1f} s", flush=True)
model = build_model("dcgan", image_size=64, latent_dim=128, base_width=64, seed=0,
                    mixed_precision="bfloat16", augmentation=["flip"])
model.compile()


class Clock(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == warmup:
            float(logs["g_loss"])  # wait for the device
            self.start = time.perf_counter()

    def on_train_end(self, logs=None):
        self.seconds = time.perf_counter() - self.start


clock = Clock()
history = model.fit(make_dataset(data, batch, seed=0), epochs=1, steps_per_epoch=steps + warmup,
                    verbose=0, shuffle=False, callbacks=[clock])
rate = steps * batch / clock.seconds
stats = jax.devices()[0].memory_stats() or {}
peak = stats.get("peak_bytes_in_use", 0) / 2**30
logs = {k: round(v[-1], 4) for k, v in history.history.items()}
print(f"DCGAN 64 px, batch {batch}, bfloat16, {steps} timed steps: {rate:,.0f} images/s, "
      f"GPU memory peak {peak:.2f} GiB, last logs {logs}")
path = os.path.join(os.environ["OUTDIR"], "gpu_samples.png")
imaging.save_png(path, imaging.make_grid(model.generate(64, seed=0)),
                 {"keras_genart.steps": steps + warmup})
print(f"wrote {path}")
PY
