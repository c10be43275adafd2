"""Raw uint8 against PNG records in a prepared data set: what it costs to write, to keep
on disk, and to read back through `PreparedImages` (the reader training uses).

For each picture size, the built-in art set is prepared twice (`encoding="raw"` and
`"png"`, the same drawing, the same workers); then batches of 64 random indices are
read and decoded, as training's batches read them. Printed per encoding: prepare
wall clock, bytes per picture, read+decode microseconds per picture, with the CPU.

    python benchmarks/prepare_format.py [--count 2000] [--json benchmarks/results/prepare_format.json]
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _machine import cpu_info, cpu_name  # noqa: E402
from cli_startup import commit  # noqa: E402

from keras_genart.data.prepare import prepare  # noqa: E402
from keras_genart.data.sources import open_prepared  # noqa: E402


def read_speed(images, batches, batch_size=64, seed=0):
    """Microseconds per picture to read and decode random batches (after one warm-up)."""
    rng = np.random.default_rng(seed)
    images[rng.integers(0, len(images), batch_size)]  # opens the readers
    start = time.perf_counter()
    for _ in range(batches):
        images[rng.integers(0, len(images), batch_size)]
    return (time.perf_counter() - start) / (batches * batch_size) * 1e6


def measure(size, count, encoding, workers, folder):
    out = os.path.join(folder, f"{encoding}-{size}")
    start = time.perf_counter()
    manifest = prepare(f"builtin:abstract:{count}", out, size, workers=workers,
                       encoding=encoding)
    seconds = time.perf_counter() - start
    data = open_prepared(out, size)
    disk = sum(s["bytes"] for s in manifest["shards"])
    return {"image_size": size, "encoding": encoding, "count": count,
            "prepare_s": round(seconds, 2), "bytes_per_picture": round(disk / count),
            "read_us_per_picture": round(read_speed(data.images, max(20, 4000 // size)), 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--sizes", default="32,128")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(s) for s in args.sizes.split(",")):
            for encoding in ("raw", "png"):
                rows.append(measure(size, args.count, encoding, args.workers, folder))
                print(rows[-1], flush=True)
    print(f"\nCPU: {cpu_name()}, {os.cpu_count()} cores")
    print(f"{'size':>5} {'encoding':>8} {'prepare s':>10} {'bytes/pic':>10} {'read us/pic':>12}")
    for r in rows:
        print(f"{r['image_size']:>5} {r['encoding']:>8} {r['prepare_s']:>10} "
              f"{r['bytes_per_picture']:>10} {r['read_us_per_picture']:>12}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        command = "python benchmarks/prepare_format.py" + (
            f" --count {args.count}" if args.count != 2000 else "")
        results = [{"benchmark": "prepare_format.py",
                    "table": "prepared data set records: raw uint8 against PNG",
                    "setting": {k: r[k] for k in ("image_size", "encoding", "count")},
                    "metrics": {k: r[k] for k in ("prepare_s", "bytes_per_picture",
                                                  "read_us_per_picture")},
                    "cpu": cpu_info(), "commit": commit(), "date": time.strftime("%Y-%m-%d"),
                    "command": command} for r in rows]
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
