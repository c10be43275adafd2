"""What the benchmarks share: the CPU they ran on (printed beside every figure) and a
wall-clock budget for `fit`."""

import time


def cpu_name():
    """The CPU's model name from /proc/cpuinfo, or "unknown CPU"."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def cpu_info():
    """`{model, cores, avx2, avx512, amx}` of this machine, as benchmarks/results/ records
    the CPU beside each figure."""
    import os

    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        flags = []
    return {"model": cpu_name(), "cores": os.cpu_count(), "avx2": "avx2" in flags,
            "avx512": "avx512f" in flags, "amx": any(f.startswith("amx") for f in flags)}


def wall_clock_budget(start, seconds):
    """A Keras callback that stops `fit` once `seconds` have passed since `start` (a
    `time.perf_counter()` value); its `steps` counts the batches trained."""
    import keras

    class WallClockBudget(keras.callbacks.Callback):
        steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if time.perf_counter() - start >= seconds:
                self.model.stop_training = True

    return WallClockBudget()
