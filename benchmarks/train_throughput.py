"""DCGAN training throughput: keras_genart's `fit` vs a plain `tf.function` step.

Both train the reference architecture (32x32 RGB; generator Dense -> 4x4x256
-> ConvTranspose 128 -> 64 -> 3 with BatchNorm/ReLU; discriminator the mirror
with LeakyReLU; batch 64; latent 128; Adam 2e-4, beta_1 0.5; non-saturating
loss) on the same in-memory batches, in one process, alternating rounds so
that machine noise hits both alike. Prints images/s and the ratio.

    python benchmarks/train_throughput.py [--steps 40] [--rounds 3]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_genart.models import build_model  # noqa: E402
from keras_genart.networks import build_discriminator, build_generator  # noqa: E402

BATCH, LATENT, SIZE = 64, 128, 32


def plain_step_trainer():
    """The hand-written baseline: what a keras-io style script would do."""
    g = build_generator(SIZE, LATENT, base_width=64)
    d = build_discriminator(SIZE, base_width=64)
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    g_opt.build(g.trainable_variables)
    d_opt.build(d.trainable_variables)

    @tf.function
    def step(real):
        z = tf.random.normal((BATCH, LATENT))
        with tf.GradientTape() as tape:
            fake = g(z, training=True)
            d_loss = tf.reduce_mean(tf.nn.softplus(-d(real, training=True))
                                    + tf.nn.softplus(d(fake, training=True)))
        d_opt.apply(tape.gradient(d_loss, d.trainable_variables), d.trainable_variables)
        z = tf.random.normal((BATCH, LATENT))
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(tf.nn.softplus(-d(g(z, training=True), training=True)))
        g_opt.apply(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables)
        return d_loss, g_loss

    def run(dataset, steps):
        it = iter(dataset)
        for _ in range(steps):
            out = step(next(it))
        float(out[0])  # wait for the last step

    return run


def library_trainer(jit_compile, steps_per_execution):
    # d_normalization="batch": the reference discriminator mirrors the
    # generator (the library's own default is spectral normalization).
    model = build_model("dcgan", image_size=SIZE, latent_dim=LATENT, base_width=64, seed=0,
                        d_normalization="batch", minibatch_std=False)
    model.compile(jit_compile=jit_compile, steps_per_execution=steps_per_execution)

    def run(dataset, steps):
        model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    images = np.random.default_rng(0).uniform(-1, 1, (BATCH * 8, SIZE, SIZE, 3)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(BATCH, drop_remainder=True)
    dataset = dataset.cache().repeat().prefetch(tf.data.AUTOTUNE)

    trainers = {
        "plain tf.function step": plain_step_trainer(),
        "keras_genart fit (jit_compile=False)": library_trainer(False, 1),
        "keras_genart fit (jit_compile=True)": library_trainer(True, 1),
        "keras_genart fit (jit_compile=False, steps_per_execution=4)": library_trainer(False, 4),
    }
    for run in trainers.values():  # trace and compile outside the timing
        run(dataset, 8)
    rates = {name: [] for name in trainers}
    for _ in range(args.rounds):
        for name, run in trainers.items():
            start = time.perf_counter()
            run(dataset, args.steps)
            rates[name].append(args.steps * BATCH / (time.perf_counter() - start))
    print(f"DCGAN 32x32, batch {BATCH}, {args.steps} steps x {args.rounds} rounds, "
          f"TF {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs")
    base = statistics.median(rates["plain tf.function step"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:60s} {median:8.1f} images/s   ratio vs plain {median / base:5.2f}")


if __name__ == "__main__":
    main()
