"""Mode coverage on the 2-D benchmarks of VEEGAN and PacGAN, through keras_genart's DCGAN.

Data: a ring of 8 Gaussians on the unit circle (sigma 0.01) and a 5x5 grid at
{-4, -2, 0, 2, 4}^2 (sigma 0.05), fresh samples every step. Networks: MLPs
(4 x 400 ReLU generator from a 2-d latent, 4 x 400 LeakyReLU discriminator),
trained with `keras_genart.models.DCGAN` (non-saturating loss; Adam, beta_1 0.5,
learning rate 2.5e-4 with a cosine decay to 5 % of it over the run, batch 100)
without and with packing (`packing=4`, PacGAN4). Two packed discriminators:
`pacgan4` is the paper's (the four samples concatenated into one 8-d input);
`pacgan4-trunk` sends each sample through the same three 400-wide layers and
judges the four feature vectors together in a 400-wide head; `gan-ema` and
`pacgan4-ema` sample from the generator's moving average (decay 0.999); the `-r1`
models add the R1 penalty on the discriminator (gamma `--r1`, every 16 updates). After training,
2,500 samples: a sample is high quality within 3 sigma of its nearest mode; a
mode is captured when it has a high-quality sample; reverse KL is
KL(generated mode histogram || uniform). Runs go to two worker processes at a
time (one per core here).

    python benchmarks/mode_coverage.py [--steps 10000] [--seeds 3] [--lr 2.5e-4] [--workers 2]
        [--data ring,grid] [--models gan,pacgan4,pacgan4-trunk,gan-ema,pacgan4-ema,gan-r1,...]
        [--first-seed 0] [--r1 1.0]

PacGAN's table for reference (Lin et al. 2018): GAN ring 6.3 modes / 98.2 %
high quality, grid 17.3 / 94.8 %; PacGAN4 ring 7.8 / 95.9 %, grid 24.8 / 93.6 %.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

DATASETS = {
    "ring": (np.array([[np.cos(a), np.sin(a)] for a in np.arange(8) * 2 * np.pi / 8]), 0.01),
    "grid": (np.array([[x, y] for x in range(-4, 5, 2) for y in range(-4, 5, 2)], float), 0.05),
}


def batches(name, batch, seed):
    centres, sigma = DATASETS[name]
    rng = np.random.default_rng(seed)
    while True:
        modes = rng.integers(0, len(centres), batch)
        yield (centres[modes] + rng.standard_normal((batch, 2)) * sigma).astype("float32"),


def mlp(inputs_dim, outputs, activation, name, width=400, depth=4):
    import keras

    x = inputs = keras.Input((inputs_dim,))
    for i in range(depth):
        x = keras.layers.Dense(width, name=f"{name}_dense{i}")(x)
        x = keras.layers.Activation(activation)(x) if activation != "leaky" \
            else keras.layers.LeakyReLU(0.2)(x)
    return keras.Model(inputs, keras.layers.Dense(outputs, name=f"{name}_out")(x), name=name)


def packed_trunk(packing, width=400, depth=3):
    """A packed discriminator whose first layers see one sample at a time.

    The `packing` samples, concatenated along the last axis as `DCGAN` packs
    them, are split apart, each goes through the same `depth` layers, and a
    head of one hidden layer judges their features together.
    """
    import keras

    x = inputs = keras.Input((2 * packing,))
    x = keras.layers.Reshape((packing, 2))(x)
    for i in range(depth):
        x = keras.layers.Dense(width, name=f"trunk_dense{i}")(x)  # per sample
        x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(width, name="head_dense")(x))
    return keras.Model(inputs, keras.layers.Dense(1, name="head_out")(x),
                       name="discriminator")


def _plain(packing):
    return mlp(2 * packing, 1, "leaky", "discriminator")


MODELS = {  # name: (packing, discriminator, EMA decay of the generator that samples, R1)
    "gan": (1, _plain, None, False),
    "pacgan4": (4, _plain, None, False),
    "pacgan4-trunk": (4, packed_trunk, None, False),
    "gan-ema": (1, _plain, 0.999, False),
    "pacgan4-ema": (4, _plain, 0.999, False),
    "gan-r1": (1, _plain, None, True),
    "pacgan4-r1": (4, _plain, None, True),
    "pacgan4-trunk-r1": (4, packed_trunk, None, True),
}
LABELS = {"gan": "GAN", "pacgan4": "PacGAN4", "pacgan4-trunk": "PacGAN4 shared trunk",
          "gan-ema": "GAN, EMA 0.999", "pacgan4-ema": "PacGAN4, EMA 0.999",
          "gan-r1": "GAN, R1", "pacgan4-r1": "PacGAN4, R1",
          "pacgan4-trunk-r1": "PacGAN4 trunk, R1"}


def score(samples, name):
    centres, sigma = DATASETS[name]
    distances = np.linalg.norm(samples[:, None] - centres[None], axis=-1)
    nearest = distances.argmin(axis=1)
    good = distances[np.arange(len(samples)), nearest] <= 3 * sigma
    counts = np.bincount(nearest[good], minlength=len(centres))
    q = (counts + 1e-10) / max(1, counts.sum())
    reverse_kl = float(np.sum(q * np.log(q * len(centres))))
    return int((counts > 0).sum()), float(good.mean()), reverse_kl


def run(name, model_name, seed, steps, lr=2.5e-4, batch=100, r1=1.0):
    import keras

    from keras_genart.models import DCGAN

    keras.utils.set_random_seed(seed)
    packing, make_discriminator, ema, with_r1 = MODELS[model_name]
    generator = mlp(2, 2, "relu", "generator")
    discriminator = make_discriminator(packing)
    # R1 (Mescheder et al. 2018) every 16 discriminator updates, as in the image models.
    model = DCGAN(generator, discriminator, packing=packing, seed=seed, ema=ema,
                  r1_weight=r1 if with_r1 else 0.0)

    def adam():
        # The decay sharpens the modes at the end (at a constant 1e-4, 4,000 steps left
        # the ring at 55 % high quality); 50 steps per call keep Python out of the loop.
        return keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(lr, steps, 0.05),
                                     beta_1=0.5)

    model.compile(g_optimizer=adam(), d_optimizer=adam(), jit_compile=True,
                  steps_per_execution=50)
    start = time.perf_counter()
    model.fit(batches(name, batch * packing, seed), epochs=1, steps_per_epoch=steps, verbose=0,
              shuffle=False)
    seconds = time.perf_counter() - start
    samples = model.sampling_generator.predict(  # the moving average, where there is one
        np.random.default_rng(seed + 1000).standard_normal((2500, 2)).astype("float32"),
        verbose=0)
    return (*score(samples, name), seconds)


def _run(job):
    return job, run(*job)


def main():
    import multiprocessing

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=2.5e-4)
    parser.add_argument("--r1", type=float, default=1.0, help="gamma of the -r1 models")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", default="ring,grid", help="ring, grid")
    parser.add_argument("--models", default="gan,pacgan4,pacgan4-trunk",
                        help=", ".join(MODELS))
    args = parser.parse_args()
    names, models = args.data.split(","), args.models.split(",")
    unknown = [n for n in names if n not in DATASETS] + [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"unknown data set or model: {', '.join(unknown)}")
    print(f"{args.steps} steps, batch 100 (x packing), lr {args.lr:g} (cosine decay), "
          f"R1 gamma {args.r1:g} (-r1 models), "
          f"{args.seeds} seeds; modes / high-quality % / reverse KL, mean over seeds (per seed "
          "in brackets)", flush=True)
    seeds = range(args.first_seed, args.first_seed + args.seeds)

    def job(name, model, seed):  # run()'s arguments, and the key of its result
        return name, model, seed, args.steps, args.lr, 100, args.r1

    jobs = [job(name, model, seed) for name in names for model in models for seed in seeds]
    # A fresh process per run: TensorFlow state never carries from one run to the next.
    with multiprocessing.get_context("spawn").Pool(args.workers, maxtasksperchild=1) as pool:
        done = dict(pool.imap_unordered(_run, jobs))
    for name in names:
        for model in models:
            results = [done[job(name, model, seed)] for seed in seeds]
            modes, quality, rkl, seconds = (list(v) for v in zip(*results))
            label = LABELS[model]
            print(f"{name:5s} {label:20s} modes {statistics.mean(modes):5.2f} {modes}  "
                  f"HQ {100 * statistics.mean(quality):5.1f} % {[round(100 * q, 1) for q in quality]}  rKL {statistics.mean(rkl):.3f}  "
                  f"({statistics.mean(seconds):.0f} s a run)", flush=True)


if __name__ == "__main__":
    main()
