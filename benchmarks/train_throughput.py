"""DCGAN training throughput on TensorFlow and JAX: keras_genart's `fit` vs hand-written steps.

The reference DCGAN (32x32 RGB; generator Dense -> 4x4x256 -> ConvTranspose
128 -> 64 -> 3 with BatchNorm/ReLU; discriminator the mirror with
LeakyReLU; batch 64; latent 128; Adam 2e-4, beta_1 0.5; non-saturating loss)
is trained by, on each backend:

- TensorFlow: a hand-written `tf.function` step (with and without XLA) and the
  library's `fit` (with and without XLA; its default on a CPU measures both at
  the start of a long fit and keeps the faster);
- JAX: a hand-written `jax.jit` step (Keras' `stateless_call` /
  `stateless_apply`, what Keras' guide shows) and the library's `fit`.

The hand-written steps read in-memory batches; `fit` reads the library's own
input (`make_dataset`, NumPy batches by index), so the ratio includes
everything a user pays. Each backend (and TensorFlow's XLA trainers) runs in its own
process, one process at a time; inside it the hand-written step and `fit` alternate
round by round, so machine noise hits both alike. Prints images/s, each `fit` /
hand-written ratio and the JAX / TF ratio.

Each `fit` call pays a fixed start (iterator, callbacks: about 0.1-0.2 s here)
that a real run pays once; the TensorFlow rounds are long enough (120 steps)
that it weighs as in a run of a few hundred steps, and the fixed cost is printed
on its own (a 1-step `fit` minus a hand-written step).

    python benchmarks/train_throughput.py [--steps 120] [--jax-steps 40] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BATCH, LATENT, SIZE = 64, 128, 32
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from _machine import cpu_name  # noqa: E402


# --- worker side: one backend per process -----------------------------------------

def _images():
    import numpy as np

    return np.random.default_rng(0).uniform(-1, 1, (BATCH * 8, SIZE, SIZE, 3)).astype("float32")


def _library_trainer(jit_compile="auto"):
    from keras_genart.data import load_images, make_dataset
    from keras_genart.models import build_model

    # d_normalization="batch": the reference discriminator mirrors the
    # generator (the library's own default is spectral normalization).
    model = build_model("dcgan", image_size=SIZE, latent_dim=LATENT, base_width=64, seed=0,
                        d_normalization="batch", minibatch_std=False, augmentation=[])
    model.compile(jit_compile=jit_compile)
    data = load_images(f"builtin:abstract:{BATCH * 8}", image_size=SIZE)
    done = [0]

    def run(steps):
        # A fresh generator for every fit, continuing the batch stream: Keras'
        # prefetching wrapper of an earlier fit must not pull from this one.
        batches = make_dataset(data, BATCH, seed=0, start_step=done[0])
        model.fit(batches, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
        done[0] += steps

    return run


def _networks():
    import keras

    from keras_genart.networks import build_discriminator, build_generator

    g = build_generator(SIZE, LATENT, base_width=64)
    d = build_discriminator(SIZE, base_width=64)
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    g_opt.build(g.trainable_variables)
    d_opt.build(d.trainable_variables)
    return g, d, g_opt, d_opt


def _tf_plain_trainer(jit_compile):
    import tensorflow as tf

    g, d, g_opt, d_opt = _networks()
    images = tf.constant(_images())

    @tf.function(jit_compile=jit_compile)
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

    def run(steps):
        for i in range(steps):
            out = step(images[(i % 8) * BATCH:(i % 8 + 1) * BATCH])
        float(out[0])  # wait for the last step

    return run


def _jax_plain_trainer():
    import jax
    import jax.numpy as jnp

    g, d, g_opt, d_opt = _networks()
    images = jnp.asarray(_images())

    def values(variables):
        return [v.value for v in variables]

    @jax.jit
    def step(state, real, key):
        gt, gn, dt, dn, go, do = state
        key, k1, k2 = jax.random.split(key, 3)

        def d_loss_fn(dt, dn):
            fake, gn2 = g.stateless_call(gt, gn, jax.random.normal(k1, (BATCH, LATENT)),
                                         training=True)
            real_logits, dn = d.stateless_call(dt, dn, real, training=True)
            fake_logits, dn = d.stateless_call(dt, dn, fake, training=True)
            loss = jnp.mean(jax.nn.softplus(-real_logits) + jax.nn.softplus(fake_logits))
            return loss, (gn2, dn)

        (d_loss, (gn, dn)), grads = jax.value_and_grad(d_loss_fn, has_aux=True)(dt, dn)
        dt, do = d_opt.stateless_apply(do, grads, dt)

        def g_loss_fn(gt, gn):
            fake, gn = g.stateless_call(gt, gn, jax.random.normal(k2, (BATCH, LATENT)),
                                        training=True)
            logits, dn2 = d.stateless_call(dt, dn, fake, training=True)
            return jnp.mean(jax.nn.softplus(-logits)), (gn, dn2)

        (g_loss, (gn, dn)), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(gt, gn)
        gt, go = g_opt.stateless_apply(go, grads, gt)
        return (gt, gn, dt, dn, go, do), key, d_loss

    state = [(values(g.trainable_variables), values(g.non_trainable_variables),
              values(d.trainable_variables), values(d.non_trainable_variables),
              values(g_opt.variables), values(d_opt.variables)), jax.random.key(0)]

    def run(steps):
        for i in range(steps):
            state[0], state[1], loss = step(state[0], images[(i % 8) * BATCH:(i % 8 + 1) * BATCH],
                                            state[1])
        float(loss)  # wait for the last step

    return run


def worker(kind, steps):
    """Builds one kind's trainers, then runs a round for every 'run' line on stdin.

    TensorFlow's graph-mode and XLA trainers live in separate processes: XLA's
    CPU thread pool keeps spinning after a step and slowed whatever graph-mode
    step ran next in the same process (250 instead of 415 images/s).
    """
    backend = "jax" if kind == "jax" else "tensorflow"
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    if kind == "tensorflow":
        trainers = {"hand-written tf.function step": _tf_plain_trainer(False),
                    "keras_genart fit (jit_compile=False)": _library_trainer(False)}
    elif kind == "tensorflow-xla":
        trainers = {"hand-written tf.function step, XLA": _tf_plain_trainer(True),
                    "keras_genart fit (jit_compile=True)": _library_trainer(True)}
    else:
        trainers = {"hand-written jax.jit step": _jax_plain_trainer(),
                    "keras_genart fit (default)": _library_trainer()}
    for run in trainers.values():  # trace and compile outside the timing
        run(4)
    print(json.dumps({"ready": keras.backend.backend()}), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        rates, one_step = {}, {}
        for name, run in trainers.items():
            start = time.perf_counter()
            run(1)
            one_step[name] = time.perf_counter() - start
            start = time.perf_counter()
            run(steps)
            rates[name] = steps * BATCH / (time.perf_counter() - start)
        plain = next(n for n in trainers if n.startswith("hand-written"))
        fit = next(n for n in trainers if n.startswith("keras_genart"))
        rates[f"fixed cost of one fit call, ms ({kind})"] = \
            1000 * (one_step[fit] - one_step[plain])
        print(json.dumps(rates), flush=True)


# --- parent side ------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=120,
                        help="steps per timed fit on TensorFlow")
    parser.add_argument("--jax-steps", type=int, default=40,
                        help="steps per timed fit on JAX (4x slower on CPUs)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="tensorflow,tensorflow-xla,jax",
                        help="worker processes: tensorflow, tensorflow-xla, jax")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.steps)

    # One worker process at a time: with all three alive, TensorFlow's graph-mode fit /
    # hand-written ratio measured 0.85; with its worker alone, 0.95 (the idle XLA runtimes
    # of the other two, on two cores, are the likely cause). Within a worker the two
    # trainers take turns, round by round.
    rates = {}
    for kind in args.backends.split(","):
        steps = args.jax_steps if kind == "jax" else args.steps
        process = subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, "--steps", str(steps)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=ROOT))
        print(process.stdout.readline().strip(), flush=True)  # waits for warm-up
        backend = "jax" if kind == "jax" else "tensorflow"
        for _ in range(args.rounds):
            process.stdin.write("run\n")
            process.stdin.flush()
            for name, value in json.loads(process.stdout.readline()).items():
                rates.setdefault((backend, name), []).append(value)
        process.stdin.close()
        process.wait()

    import keras

    print(f"\nDCGAN 32x32, batch {BATCH}, {args.steps} steps (JAX {args.jax_steps}) x "
          f"{args.rounds} rounds, "
          f"Keras {keras.__version__}, {cpu_name()}, {os.cpu_count()} CPUs")
    medians = {key: statistics.median(values) for key, values in rates.items()}
    for (backend, name), median in medians.items():
        unit = "" if name.startswith("fixed cost") else "images/s"
        print(f"{backend:10s} {name:42s} {median:8.1f} {unit}")
    print()
    pairs = [("tensorflow", "keras_genart fit (jit_compile=False)",
              "hand-written tf.function step"),
             ("tensorflow", "keras_genart fit (jit_compile=True)",
              "hand-written tf.function step, XLA"),
             ("tensorflow", "hand-written tf.function step, XLA",
              "hand-written tf.function step"),
             ("jax", "keras_genart fit (default)", "hand-written jax.jit step")]
    for backend, name, plain in pairs:
        if (backend, name) in medians and (backend, plain) in medians:
            print(f"ratio {backend}: {name} / {plain}: "
                  f"{medians[(backend, name)] / medians[(backend, plain)]:.2f}")
    jax_fit = medians.get(("jax", "keras_genart fit (default)"))
    tf_fit = max((v for (b, n), v in medians.items()
                  if b == "tensorflow" and n.startswith("keras_genart")), default=None)
    if jax_fit and tf_fit:
        print(f"ratio JAX fit / faster TF fit: {jax_fit / tf_fit:.2f}")


if __name__ == "__main__":
    main()
