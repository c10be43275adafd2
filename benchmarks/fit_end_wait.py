"""How long `fit` takes to return after its last step, on TensorFlow: Keras' generator wrapper vs keras_genart's.

Keras wraps a Python generator of batches in `tf.data` with autotuning on;
deleting that iterator when `fit` ends waits for the autotuning thread's next
wake-up, which comes later the longer the iterator lived (up to 60 s).
keras_genart's `fit` wraps generators itself with autotuning off
(`keras_genart.backend.tensorflow.fit_input`). This script trains the
reference DCGAN (32x32, batch 64, as in `train_throughput.py`) from
`make_dataset` batches with both wrappers, alternating call by call, for fits
of several lengths, and prints for each the time from the last step to the
return of `fit` (median and worst) and the training speed of the steps.

    python benchmarks/fit_end_wait.py [--steps 10,60,120] [--rounds 2]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="10,60,120", help="fit lengths, comma-separated")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    import keras

    from keras_genart.data import load_images, make_dataset
    from keras_genart.models import build_model

    data = load_images("builtin:abstract:512", image_size=32)
    model = build_model("dcgan", image_size=32, latent_dim=128, base_width=64, seed=0,
                        d_normalization="batch", minibatch_std=False, augmentation=[])
    model.compile(jit_compile=False)

    class Clock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0:
                self.first = time.perf_counter()

        def on_train_end(self, logs=None):
            self.last = time.perf_counter()

    wrappers = {
        "Keras' generator wrapper": lambda *a, **k: keras.Model.fit(model, *a, **k),
        "keras_genart fit": model.fit,
    }
    done = 0
    for fit in wrappers.values():  # trace outside the measurement
        fit(make_dataset(data, 64, seed=0), epochs=1, steps_per_epoch=2, verbose=0,
            shuffle=False)
    results = {}
    for steps in (int(s) for s in args.steps.split(",")):
        for _ in range(args.rounds):
            for name, fit in wrappers.items():
                clock = Clock()
                fit(make_dataset(data, 64, seed=0, start_step=done), epochs=1,
                    steps_per_epoch=steps, verbose=0, shuffle=False, callbacks=[clock])
                returned = time.perf_counter()
                done += steps
                results.setdefault((steps, name), []).append(
                    (returned - clock.last, steps * 64 / (clock.last - clock.first)))

    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    print(f"DCGAN 32x32, batch 64, {args.rounds} fits of each length per wrapper, "
          f"Keras {keras.__version__}, {cpu}, {os.cpu_count()} CPUs")
    print(f"{'steps':>5s}  {'wrapper':26s} {'wait after last step (median / worst)':>40s}  "
          f"{'images/s':>8s}")
    for (steps, name), values in results.items():
        waits, rates = zip(*values)
        print(f"{steps:5d}  {name:26s} {statistics.median(waits):31.2f} s / {max(waits):5.2f} s  "
              f"{statistics.median(rates):8.1f}")


if __name__ == "__main__":
    main()
