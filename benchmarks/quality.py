"""Picture quality per CPU-minute: keras_genart's GAN recipes against a plain DCGAN.

Every recipe trains for the same wall-clock budget, each in its own process
(one at a time: run nothing else meanwhile), on each data set; then every model
makes `--n` pictures from the same latents and they are scored against the
training pictures:

- FID and KID on the `random` features of `keras_genart.metrics` (lower is better);
- cFID: the Frechet distance in a classifier's feature space (the measure of the
  held-out data set the defaults must win on): a digit network's hidden units for
  `digits` (`digit_features`), the built-in style classifier's for `builtin:` data;
- class shares of the samples by a classifier of the data set: the built-in
  style classifier for `builtin:` data, a logistic regression on the 8x8
  pictures for `digits`; `min share` is the rarest class's share of the samples
  over its share of the data (1 = as in the data, 0 = a class is missing);
- orientation: the share of samples whose left half holds more ink / colour
  than the right half, beside the same share of the data (a model that draws
  one orientation only is far off).

Data sets:
- `digits-clusters`: the same pictures in 10 folders by k-means cluster of their
  pixels instead of by digit (the labels a user without labels could make), scored
  against the digits as `digits` is;
- `digits`: scikit-learn's 1,797 hand-written digits (8x8 grayscale, 10
  classes, not mirror-symmetric), written as 28 px PNGs in class folders and
  read through the library's folder loader like a user's data
  (`pip install -e ".[bench]"` installs scikit-learn; the data ships inside
  the package, nothing is downloaded);
- any keras_genart source (`builtin:abstract`, a folder, ...);
- `files:SOURCE`: that source written as PNG files in class folders and read
  through the folder loader like a user's data (`files:builtin:abstract:200`:
  the issue's small-data case).

Recipes: `plain` (benchmarks/plain_dcgan.py), `default` (`genart train dcgan`
with its defaults), and `NAME:key=value;key=value` with `genart train`
settings (`augment=color+translation+cutout`, `ema=0.999`, `r1=0.1`,
`d_normalization=none`, `minibatch_std=false`, `base_width=32`, ...), or the
named recipes in RECIPES.

    python benchmarks/quality.py --data digits,builtin:abstract --budget 300 \
        --recipes plain,default,new --grids quality_grids

`--checkout NAME=PATH` runs recipe NAME (or `NAME:key=value;...`) with the
keras_genart of another checkout (`git worktree add PATH REV`): `--recipes
default,then --checkout then=/tmp/old` measures today's default against the
default of that version, in the same run.
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
from _machine import cpu_name, wall_clock_budget  # noqa: E402

RECIPES = {
    "default": {},
    # The discriminator's normalization: spectral was DCGAN's default until 2026-11-30.
    "spectral": {"d_normalization": "spectral"},
    "nosn": {"d_normalization": "none"},
    "cond": {"conditional": True},
    "latent": {"latent_classes": True},
    # The unconditional DCGAN: the default until latent-coded classes became automatic
    # for labelled data.
    "unconditional": {"latent_classes": False},
    # Explicit settings, whatever the defaults of the installed version are:
    "old-default": {"augment": ["flip"], "ema": None, "shared_fakes": False},
    "new-default": {"augment": [], "ema": 0.999, "shared_fakes": True},
    "noflip": {"augment": []},
    "ema": {"augment": [], "ema": 0.999},
    "diffaug": {"augment": ["color", "translation", "cutout"]},
    "diffaug-ema": {"augment": ["color", "translation", "cutout"], "ema": 0.999},
    "r1": {"augment": [], "d_normalization": "none", "r1": 0.1},
    "shared-ema": {"augment": [], "ema": 0.999, "shared_fakes": True},
    "shared-ema-r1": {"augment": [], "ema": 0.999, "shared_fakes": True,
                      "d_normalization": "none", "r1": 0.1},
    "shared-ema-diffaug": {"augment": ["color", "translation", "cutout"], "ema": 0.999,
                           "shared_fakes": True},
}


def parse_recipe(text):
    """`(name, overrides)` of a recipe name or `NAME:key=value;...`."""
    if text == "plain" or text in RECIPES:
        return text, dict(RECIPES.get(text, {}))
    name, _, spec = text.partition(":")
    if not spec:
        raise SystemExit(f"unknown recipe {text!r}; choose plain, {', '.join(RECIPES)} or "
                         "NAME:key=value;key=value")
    overrides = {}
    for item in spec.split(";"):
        key, _, value = item.partition("=")
        if key == "augment":
            overrides[key] = [] if value in ("", "none") else value.split("+")
        elif value in ("true", "false"):
            overrides[key] = value == "true"
        elif value == "none" and key != "d_normalization":
            overrides[key] = None
        else:
            try:
                overrides[key] = int(value)
            except ValueError:
                try:
                    overrides[key] = float(value)
                except ValueError:
                    overrides[key] = value
    return name, overrides


def write_digits(folder, clusters=None):
    """scikit-learn's digits as 28 px grayscale PNGs in one folder per class (with
    `clusters` K, one folder per k-means cluster of the 8x8 pixels instead: labels that
    a user without labels could make)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    labels = digits.target
    if clusters:
        from sklearn.cluster import KMeans

        labels = KMeans(clusters, n_init=10, random_state=0).fit_predict(
            digits.images.reshape(len(digits.images), -1))
    for i, (image, label) in enumerate(zip(digits.images, labels)):
        os.makedirs(os.path.join(folder, str(label)), exist_ok=True)
        pixels = (image / 16.0 * 255.0).round().astype("uint8")
        Image.fromarray(pixels, mode="L").resize((28, 28), Image.BILINEAR).save(
            os.path.join(folder, str(label), f"{i:04d}.png"))
    return folder


def write_pictures(source, folder, image_size=32):
    """Any keras_genart source written as PNG files, one folder per class (if it has any)."""
    from PIL import Image

    from keras_genart.data import load_images

    data = load_images(source, image_size=image_size, seed=0)
    for i, image in enumerate(data.images):
        sub = data.class_names[data.labels[i]] if data.class_names else ""
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
        Image.fromarray(image).save(os.path.join(folder, sub, f"{i:05d}.png"))
    return folder


def source_of(data, workdir, image_size=32):
    if data in ("digits", "digits-clusters"):
        folder = os.path.join(workdir, data)
        if not os.path.isdir(folder):
            write_digits(folder, clusters=10 if data == "digits-clusters" else None)
        return folder
    if data.startswith("files:"):  # e.g. files:builtin:abstract:200, read as a user's folder
        folder = os.path.join(workdir, data.replace(":", "_"))
        if not os.path.isdir(folder):
            write_pictures(data[len("files:"):], folder, image_size)
        return folder
    return data


# --- one recipe, in its own process -------------------------------------------------

def train_recipe(args, overrides, data, batches, start):
    """`(model, steps)`: keras_genart's DCGAN with the settings `overrides`, fitted on
    `batches` until `args.budget` seconds after `start` (`time.perf_counter()`)."""
    from keras_genart.runs import TrainConfig, build_compiled_model

    config = TrainConfig.from_flat(model="dcgan", data=args.source, image_size=args.image_size,
                                   batch_size=args.batch_size, seed=args.seed, **overrides)
    from keras_genart.runs import class_shares

    # The classes' shares of the data: the arcs of latent-coded classes.
    model = build_compiled_model(config, class_names=data.class_names,
                                 class_shares=class_shares(data), grayscale=data.grayscale)
    budget = wall_clock_budget(start, args.budget)
    model.fit(batches, epochs=1, steps_per_epoch=10**7, verbose=0, callbacks=[budget])
    return model, budget.steps


def add_run_arguments(parser, budget):
    """The options of a benchmark that trains recipes for `--budget` seconds each, one
    process per run (`--recipe`, `--source`, `--out`, `--seed`: the run's own, hidden)."""
    parser.add_argument("--budget", type=float, default=budget, help="seconds of training")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n", type=int, default=2000, help="pictures scored per model")
    parser.add_argument("--seeds", default="0",
                        help="comma-separated training seeds; each recipe runs once per seed")
    parser.add_argument("--grids", default=None, help="folder for 8x8 sample grids")
    parser.add_argument("--json", default=None, help="write every figure here")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--recipe", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)


def run_command(script, args, recipe, source, out, seed):
    """The command line of one run of `script` in its own process: the options of
    `add_run_arguments` that a run reads, passed on from `args`."""
    return [sys.executable, script, "--recipe", recipe, "--source", source, "--out", out,
            "--budget", str(args.budget), "--image-size", str(args.image_size),
            "--batch-size", str(args.batch_size), "--n", str(args.n), "--seed", str(seed)]


def write_results(args, results):
    """Every row to `--json`, with the CPU and the budget, if asked for."""
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu_name(), "budget": args.budget, "results": results}, f,
                      indent=1)


def worker(args):
    import numpy as np

    from keras_genart.data import load_images, make_dataset
    from keras_genart.latents import sample_latents

    name, overrides = parse_recipe(args.recipe)
    data = load_images(args.source, image_size=args.image_size, seed=0)
    batches = make_dataset(data, args.batch_size, seed=args.seed)
    start = time.perf_counter()
    cpu_start = time.process_time()
    if name == "plain":
        from plain_dcgan import PlainDCGAN

        model = PlainDCGAN(args.image_size, latent_dim=128, seed=args.seed)
        steps = 0
        while time.perf_counter() - start < args.budget:
            model.train_step(next(batches)[0])
            steps += 1
        latent_dim = model.latent_dim
    else:
        model, steps = train_recipe(args, overrides, data, batches, start)
        latent_dim = model.latent_dim
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    z = sample_latents(args.n, latent_dim, 12345)
    if name == "plain":
        samples = np.concatenate([model.generate(z[i:i + 500]) for i in range(0, len(z), 500)])
    else:
        samples = model.generate_from_latents(z)
    np.savez_compressed(args.out, samples=(samples * 255).round().astype("uint8"),
                        steps=steps, seconds=seconds, cpu_seconds=cpu_seconds)


# --- scoring ---------------------------------------------------------------------

def orientation(images):
    """Share of pictures whose left half is further from the picture's mean colour."""
    import numpy as np

    x = images.astype(np.float32) / 255.0
    deviation = np.abs(x - x.mean(axis=(1, 2), keepdims=True)).sum(axis=3)
    half = x.shape[2] // 2
    return float(np.mean(deviation[:, :, :half].sum(axis=(1, 2))
                         > deviation[:, :, -half:].sum(axis=(1, 2))))


def gray_pixels(images, side):
    """uint8 pictures as rows of their gray pixels at `side` x `side`, in [0, 1]."""
    import numpy as np
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(im).convert("L").resize(
        (side, side), Image.BILINEAR), np.float32).ravel() / 255.0 for im in images])


def fit_with_held_out(make, features, labels):
    """`(model, accuracy)`: `make()` fitted on every picture, and the accuracy on a
    held-out fifth of one fitted on the other four fifths."""
    import numpy as np

    order = np.random.default_rng(0).permutation(len(features))
    held, kept = order[: len(order) // 5], order[len(order) // 5:]
    accuracy = float(make().fit(features[kept], labels[kept])
                     .score(features[held], labels[held]))
    return make().fit(features, labels), accuracy


def digit_classifier(real_images, labels):
    """A logistic regression on 8x8 grayscale versions; its accuracy on held-out digits."""
    from sklearn.linear_model import LogisticRegression

    classifier, accuracy = fit_with_held_out(lambda: LogisticRegression(max_iter=2000),
                                             gray_pixels(real_images, 8), labels)
    return (lambda images: classifier.predict_proba(gray_pixels(images, 8))), accuracy


def digit_features(real_images, labels):
    """Features of a classifier of the digits, for a Frechet distance in a classifier's
    feature space (the measure of the held-out data set): the 128 ReLU units of a
    one-hidden-layer network (scikit-learn's MLPClassifier) trained on the pictures at
    16x16 gray; with its held-out accuracy."""
    import numpy as np
    from sklearn.neural_network import MLPClassifier

    mlp, accuracy = fit_with_held_out(
        lambda: MLPClassifier(hidden_layer_sizes=(128,), max_iter=300, random_state=0),
        gray_pixels(real_images, 16), labels)

    def hidden(images):
        return np.maximum(gray_pixels(images, 16) @ mlp.coefs_[0] + mlp.intercepts_[0], 0.0)

    return hidden, accuracy


def class_shares(probabilities, labels, num_classes):
    import numpy as np

    predicted = np.bincount(probabilities.argmax(axis=1), minlength=num_classes)
    data = np.bincount(labels, minlength=num_classes)
    ratio = (predicted / predicted.sum()) / (data / data.sum())
    return [round(float(v), 3) for v in predicted / predicted.sum()], float(ratio.min())


def print_row(label, row):
    print(f"{label:22s} {row['steps']:6d} {row['seconds']:5.0f} {row['fid']:8.3f} "
          f"{row['kid']:8.4f} {row.get('cfid', float('nan')):8.3f} "
          f"{row.get('min_share_ratio', float('nan')):9.2f} {row['left_share']:5.2f}",
          flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits,builtin:abstract")
    parser.add_argument("--recipes", default="plain,default")
    add_run_arguments(parser, budget=300.0)
    parser.add_argument("--checkout", action="append", default=[], metavar="NAME=PATH",
                        help="run recipe NAME with the keras_genart package of the checkout "
                             "at PATH (repeatable)")
    parser.add_argument("--reuse", action="store_true",
                        help="score the samples a run left in --workdir again instead of "
                             "training it again (new scores, the same training)")
    args = parser.parse_args()
    if args.recipe:
        return worker(args)

    import numpy as np

    from keras_genart.data import load_images
    from keras_genart.imaging import make_grid, save_png
    from keras_genart.metrics.features import RandomFeatures
    from keras_genart.metrics.report import evaluate
    from keras_genart.metrics.scores import fid

    workdir = args.workdir or tempfile.mkdtemp(prefix="genart_quality_")
    os.makedirs(workdir, exist_ok=True)
    recipes = [r for r in args.recipes.split(",") if r]
    checkouts = dict(item.split("=", 1) for item in args.checkout)
    for recipe in recipes:
        if recipe.split(":")[0] in checkouts:
            continue  # the other version's settings: its defaults, or the ones given
        parse_recipe(recipe)
    print(f"{cpu_name()}, {os.cpu_count()} CPUs; budget {args.budget:.0f} s per run, "
          f"{args.image_size} px, batch {args.batch_size}, {args.n} samples scored")
    extractor = RandomFeatures()
    results = []
    for data_name in [d for d in args.data.split(",") if d]:
        source = source_of(data_name, workdir, args.image_size)
        # The same pictures with their digits, for the classifiers' scores.
        real = load_images(source_of("digits", workdir, args.image_size)
                           if data_name == "digits-clusters" else source,
                           image_size=args.image_size, seed=0)
        features = None  # a classifier's features: the cFID column
        if data_name in ("digits", "digits-clusters"):
            classify, accuracy = digit_classifier(real.images, real.labels)
            labels, num_classes = real.labels, 10
            features, feature_accuracy = digit_features(real.images, real.labels)
            print(f"cFID: a digit network's 128 hidden units (held-out accuracy "
                  f"{feature_accuracy:.3f})")
        elif real.class_names:
            from keras_genart.metrics.classifier import StyleClassifier

            style = StyleClassifier()
            classify, accuracy = style.classify, style.accuracy
            index = {n: i for i, n in enumerate(style.class_names)}
            labels = np.array([index[real.class_names[i]] for i in real.labels])
            num_classes = len(style.class_names)
            features = style  # its 64-unit penultimate layer
        else:
            classify = None
        print(f"\n{data_name}: {real.num_images} pictures"
              + (f", classifier held-out accuracy {accuracy:.3f}" if classify else "")
              + f"; data orientation (left-heavy share) {orientation(real.images):.2f}")
        header = (f"{'recipe':22s} {'steps':>6s} {'s':>5s} {'FID':>8s} {'KID':>8s} "
                  f"{'cFID':>8s} {'min share':>9s} {'left':>5s}")
        print(header)
        real_features = None if features is None else features(real.images)
        seeds = [int(s) for s in args.seeds.split(",") if s]
        for recipe in recipes:
            rows = []
            for seed in seeds:
                out = os.path.join(workdir, f"{data_name.replace(':', '_').replace('/', '_')}"
                                            f"_{recipe.split(':')[0]}_seed{seed}.npz")
                command = run_command(__file__, args, recipe, source, out, seed)
                env = dict(os.environ)
                checkout = checkouts.get(recipe.split(":")[0])
                if checkout:
                    env["PYTHONPATH"] = os.path.abspath(checkout)
                    spec = recipe.partition(":")[2]
                    command[command.index("--recipe") + 1] = (
                        f"default:{spec}" if spec else "default")
                if not (args.reuse and os.path.exists(out)):
                    subprocess.run(command, check=True, env=env)
                saved = np.load(out)
                samples = saved["samples"]
                report, _ = evaluate(samples, real.images, extractor, metrics=["fid", "kid"])
                row = {"data": data_name, "recipe": recipe, "seed": seed,
                       "steps": int(saved["steps"]),
                       "seconds": round(float(saved["seconds"]), 1),
                       "cpu_seconds": round(float(saved["cpu_seconds"]), 1),
                       "fid": report["scores"]["fid"], "kid": report["scores"]["kid"],
                       "left_share": orientation(samples)}
                if features is not None:
                    row["cfid"] = fid(np.asarray(features(samples), np.float64),
                                      np.asarray(real_features, np.float64))
                if classify is not None:
                    row["class_shares"], row["min_share_ratio"] = class_shares(
                        classify(samples), labels, num_classes)
                rows.append(row)
                print_row(f"{recipe.split(':')[0]} s{seed}", row)
                if args.grids:
                    os.makedirs(args.grids, exist_ok=True)
                    save_png(os.path.join(args.grids,
                                          os.path.basename(out).replace(".npz", ".png")),
                             make_grid(samples[:64], cols=8))
            results.extend(rows)
            if len(rows) > 1:
                mean = {key: float(np.mean([r[key] for r in rows]))
                        for key in ("steps", "seconds", "fid", "kid", "cfid", "left_share",
                                    "min_share_ratio") if key in rows[0]}
                mean["steps"] = int(mean["steps"])
                print_row(f"{recipe.split(':')[0]} mean", mean)
    write_results(args, results)


if __name__ == "__main__":
    main()
