"""Evaluation speed: FID + KID + precision/recall + density/coverage + novelty, 10k vs 10k.

Scores 10,000 "generated" 32 px pictures (the built-in abstract set drawn with
another seed, a stand-in: generation time is not what is measured) against
10,000 real ones with the `random` feature extractor, and prints the seconds of
every stage and the total (target: under 60 s on the project's 2-core machine).

    python benchmarks/evaluate.py [--n 10000]
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()

    from keras_genart.data import load_images
    from keras_genart.metrics.features import RandomFeatures
    from keras_genart.metrics.report import evaluate

    start = time.perf_counter()
    real = load_images(f"builtin:abstract:{args.n}", image_size=32, seed=0).images
    generated = load_images(f"builtin:abstract:{args.n}", image_size=32, seed=1).images
    drawing = time.perf_counter() - start
    start = time.perf_counter()
    extractor = RandomFeatures()
    report, _ = evaluate(generated, real, extractor)
    total = time.perf_counter() - start
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = "unknown CPU"
    print(f"{args.n} generated vs {args.n} real, 32 px, random features, {cpu}, "
          f"{os.cpu_count()} CPUs (pictures drawn in {drawing:.1f} s, not counted)")
    for stage, seconds in report["seconds"].items():
        print(f"  {stage:24s} {seconds:7.2f} s")
    print(f"  {'total (with model build)':24s} {total:7.2f} s   target < 60 s")
    shown = {k: round(v, 4) for k, v in report["scores"].items() if isinstance(v, float)}
    print(f"scores: {shown}")


if __name__ == "__main__":
    main()
