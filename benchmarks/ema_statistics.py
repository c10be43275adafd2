"""The moving-average generator's batch-norm statistics: copied from the raw generator, or its own.

Training copies the raw generator's running batch-norm statistics into the
moving average (EMA) after every step; `refresh_sampling_statistics()`
replaces them by the mean and variance of the average's own activations
(BigGAN's "standing statistics"), and `generate`, export and saving call it.
This trains each recipe for a wall-clock budget (each run in its own
process, one at a time) and scores, on the same trained model and the same
latents, the raw generator, the average with the copied statistics, and the
average with its own: FID and KID on the `random` features against the
training pictures (lower is better), and the mean saturation (max - min
channel) beside the data's.

    python benchmarks/ema_statistics.py --data digits,builtin:abstract --budget 120 \
        --recipes default --seeds 0,1

Data and recipes as in `benchmarks/quality.py` (`files:builtin:abstract:200`,
`NAME:augment=color+translation+cutout`, ...).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _machine import cpu_name  # noqa: E402
from quality import (  # noqa: E402
    add_run_arguments,
    parse_recipe,
    run_command,
    source_of,
    write_results,
)

VARIANTS = ("raw", "ema_copied", "ema_own")


def saturation(images):
    """Mean of max - min over the channels, images uint8 or in [0, 1]."""
    import numpy as np

    x = images.astype(np.float64)
    x = x / 255.0 if images.dtype == np.uint8 else x
    return float(np.mean(x.max(axis=3) - x.min(axis=3)))


def worker(args):
    import numpy as np

    from keras_genart.data import load_images, make_dataset
    from keras_genart.latents import sample_latents
    from keras_genart.metrics.features import RandomFeatures
    from keras_genart.metrics.report import evaluate
    from quality import train_recipe

    _, overrides = parse_recipe(args.recipe)
    if overrides.get("ema", "auto") is None:
        raise SystemExit(f"recipe {args.recipe!r} keeps no moving average")
    data = load_images(args.source, image_size=args.image_size, seed=0)
    batches = make_dataset(data, args.batch_size, seed=args.seed)
    model, steps = train_recipe(args, overrides, data, batches, time.perf_counter())
    z = sample_latents(args.n, model.latent_dim, 12345)
    labels = model.resolve_labels(None, len(z))  # classes in turn, if conditional
    extractor = RandomFeatures()
    row = {"data": args.data, "recipe": args.recipe, "seed": args.seed, "steps": steps,
           "data_saturation": saturation(data.images)}

    def score(name, network):
        images = np.concatenate([
            np.asarray(network(z[i:i + 500] if labels is None
                               else [z[i:i + 500], labels[i:i + 500]], training=False))
            for i in range(0, len(z), 500)])
        pixels = (np.clip((images + 1.0) * 0.5, 0.0, 1.0) * 255).round().astype(np.uint8)
        report, _ = evaluate(pixels, data.images, extractor, metrics=["fid", "kid"])
        row[name] = {"fid": report["scores"]["fid"], "kid": report["scores"]["kid"],
                     "saturation": saturation(pixels)}
        if args.grids:
            from keras_genart.imaging import make_grid, save_png

            os.makedirs(args.grids, exist_ok=True)
            tag = f"{args.data}_{args.recipe.split(':')[0]}_seed{args.seed}_{name}"
            save_png(os.path.join(args.grids, tag.replace(":", "_").replace("/", "_") + ".png"),
                     make_grid(pixels[:64], cols=8))

    score("raw", model.generator)
    score("ema_copied", model.ema_generator)  # as training left it: no generate call before
    model.refresh_sampling_statistics()
    score("ema_own", model.ema_generator)
    with open(args.out, "w") as f:
        json.dump(row, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits,builtin:abstract")
    parser.add_argument("--recipes", default="default")
    add_run_arguments(parser, budget=120.0)
    args = parser.parse_args()
    if args.recipe:
        return worker(args)

    workdir = args.workdir or tempfile.mkdtemp(prefix="genart_ema_")
    os.makedirs(workdir, exist_ok=True)
    recipes = [r for r in args.recipes.split(",") if r]
    for recipe in recipes:
        parse_recipe(recipe)
    print(f"{cpu_name()}, {os.cpu_count()} CPUs; budget {args.budget:.0f} s per run, "
          f"{args.image_size} px, batch {args.batch_size}, {args.n} samples scored")
    print(f"{'data':28s} {'recipe':10s} {'seed':>4s} {'steps':>6s}  "
          + "  ".join(f"{v + ' FID/KID/sat':>26s}" for v in VARIANTS))
    results = []
    for data in [d for d in args.data.split(",") if d]:
        source = source_of(data, workdir, args.image_size)
        for recipe in recipes:
            for seed in [int(s) for s in args.seeds.split(",") if s]:
                out = os.path.join(workdir, f"run_{len(results)}.json")
                subprocess.run(run_command(__file__, args, recipe, source, out, seed)
                               + ["--data", data]
                               + (["--grids", args.grids] if args.grids else []), check=True)
                with open(out) as f:
                    row = json.load(f)
                results.append(row)
                print(f"{data:28s} {recipe.split(':')[0]:10s} {seed:4d} {row['steps']:6d}  "
                      + "  ".join(f"{row[v]['fid']:9.2f} {row[v]['kid']:7.4f} "
                                  f"{row[v]['saturation']:5.3f}" + " " * 2 for v in VARIANTS)
                      + f"  (data saturation {row['data_saturation']:.3f})", flush=True)
    write_results(args, results)


if __name__ == "__main__":
    main()
