"""Does a conditional GAN make the class it is asked for? A per-class table.

Trains `genart train dcgan --conditional` (the library's defaults, or the
settings given) on `builtin:abstract` (five styles) for a wall-clock budget,
then asks its generator for `--n` pictures of each style and lets the
package's style classifier (`keras_genart.metrics.classifier`, trained on
built-in pictures only) say which style each picture is. Prints, per
requested style, the share classified as that style (the issue's bar: at
least 0.8 for every style), the style the rest went to, and the same for
truncation 0.7; writes the per-class grid (`genart sample --per-class`).

    python benchmarks/conditional.py --budget 300 --grid docs/conditional-per-class.png
    python benchmarks/conditional.py --run runs/demo     # score a trained run instead
"""

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _machine import cpu_name, wall_clock_budget  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=300.0, help="seconds of training")
    parser.add_argument("--data", default="builtin:abstract")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--n", type=int, default=500, help="pictures scored per class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a TrainConfig setting (repeatable), e.g. d_final_size=8")
    parser.add_argument("--grid", default=None, help="per-class grid PNG (8 per row)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--run", default=None, metavar="RUN_DIR",
                        help="score this trained conditional run (genart demo's runs/demo, "
                             "say) instead of training one")
    args = parser.parse_args()

    import numpy as np

    from keras_genart.cli import write_samples
    from keras_genart.metrics.classifier import StyleClassifier
    from keras_genart.runs import TrainConfig, load_trained_model, train

    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)  # numbers, true, false, null, lists
        except ValueError:
            overrides[key] = value
    if args.run:
        run_dir = args.run
        model = load_trained_model(run_dir)
        if not model.label_names:
            raise SystemExit(f"{run_dir} holds an unconditional model: nothing to ask for")
        print(f"{cpu_name()}, {os.cpu_count()} CPUs; the trained run {run_dir} "
              f"({len(model.label_names)} classes); {args.n} pictures per class")
        results = {"cpu": cpu_name(), "run": run_dir, "classes": {}}
    else:
        run_dir = tempfile.mkdtemp(prefix="genart_conditional_")
        config = TrainConfig.from_flat(
            model="dcgan", data=args.data, image_size=args.image_size, conditional=True,
            seed=args.seed, epochs=1, steps_per_epoch=10 ** 6, run_dir=run_dir, verbose=0,
            **overrides)
        start = time.perf_counter()
        budget = wall_clock_budget(start, args.budget)
        model = train(config, log=lambda *_: None, extra_callbacks=[budget])
        seconds = time.perf_counter() - start
        print(f"{cpu_name()}, {os.cpu_count()} CPUs; {args.data} {args.image_size} px; "
              f"{budget.steps} steps in {seconds:.0f} s; {args.n} pictures per class; "
              f"settings {overrides or 'defaults'}")
        results = {"cpu": cpu_name(), "steps": budget.steps, "seconds": round(seconds, 1),
                   "settings": overrides, "classes": {}}
    classifier = StyleClassifier()
    style_index = {name: i for i, name in enumerate(classifier.class_names)}
    unknown = [name for name in model.label_names if name not in style_index]
    if unknown:
        raise SystemExit(f"the style classifier knows {', '.join(classifier.class_names)}; "
                         f"this model's classes {', '.join(unknown)} are not among them")
    print(f"{'asked for':14s} {'share':>6s} {'psi 0.7':>7s}  rest went to")
    for label, name in enumerate(model.label_names):
        row = {}
        for key, truncation in (("share", None), ("share_truncated", 0.7)):
            images = model.generate(args.n, seed=args.seed + 1, labels=label,
                                    truncation=truncation)
            predicted = classifier.classify(images).argmax(axis=1)
            row[key] = float(np.mean(predicted == style_index[name]))
            if truncation is None:
                counts = np.bincount(predicted, minlength=len(classifier.class_names))
                counts[style_index[name]] = 0
                row["others"] = {classifier.class_names[i]: int(c)
                                 for i, c in enumerate(counts) if c}
        results["classes"][name] = row
        others = ", ".join(f"{k} {v}" for k, v in sorted(row["others"].items(),
                                                         key=lambda kv: -kv[1]))
        print(f"{name:14s} {row['share']:6.3f} {row['share_truncated']:7.3f}  {others}",
              flush=True)
    worst = min(r["share"] for r in results["classes"].values())
    print(f"lowest share {worst:.3f} (bar: 0.8 for every class)")
    if args.grid:
        write_samples(run_dir, 0, args.seed, args.grid, per_class=8, log=print)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
