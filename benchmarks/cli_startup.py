"""How fast `genart` answers a mistake: wall clock of three commands that must fail (or,
for --dry-run, answer) before TensorFlow or JAX loads.

    genart sample NOT_A_RUN
    genart sample RUN --class UNKNOWN           (RUN: a tiny run trained here first)
    genart train dcgan --data /nonexistent --dry-run

Each runs in a fresh process `--repeats` times; the median and the spread are printed
with the CPU, the target being well under a second. `--json FILE` writes them too.

    python benchmarks/cli_startup.py [--repeats 5] [--json benchmarks/results/cli_startup.json]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _machine import cpu_info, cpu_name  # noqa: E402

GENART = [sys.executable, "-m", "keras_genart.cli"]
TINY_RUN = ["train", "dcgan", "--data", "builtin:abstract:8", "--image-size", "16",
            "--base-width", "8", "--latent-dim", "8", "--batch-size", "4", "--epochs", "1",
            "--steps-per-epoch", "1", "--quiet"]


def commit():
    """The checkout's commit, for the JSON; "unknown" outside git."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                          capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def wall_clock(args, repeats):
    """Seconds of each of `repeats` runs of `genart ARGS`, and the last one's exit status."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run([*GENART, *args], capture_output=True, text=True)
        seconds.append(time.perf_counter() - start)
    return seconds, done


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None, metavar="FILE",
                        help="also write the figures as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as work:
        run = os.path.join(work, "run")
        subprocess.run([*GENART, *TINY_RUN, "--run-dir", run], check=True,
                       capture_output=True)
        commands = {
            "sample NOT_A_RUN": ["sample", os.path.join(work, "not-a-run")],
            "sample RUN --class UNKNOWN": ["sample", run, "--class", "unknown"],
            "train dcgan --data /nonexistent --dry-run":
                ["train", "dcgan", "--data", "/nonexistent", "--dry-run"],
        }
        results = {}
        print(f"genart's answer to a mistake, {args.repeats} runs each, {cpu_name()}, "
              f"{os.cpu_count()} CPUs (target: well under 1 s)")
        for name, command in commands.items():
            seconds, done = wall_clock(command, args.repeats)
            results[name] = {"median_s": statistics.median(seconds), "min_s": min(seconds),
                             "max_s": max(seconds), "exit_status": done.returncode}
            answer = (done.stderr.strip() or done.stdout.strip()).splitlines()
            print(f"  genart {name:42s} median {statistics.median(seconds):5.2f} s "
                  f"(min {min(seconds):.2f}, max {max(seconds):.2f}), exit "
                  f"{done.returncode}: {answer[0][:70] if answer else ''}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        rows = [{"benchmark": "cli_startup.py", "table": "genart's answer to a mistake",
                 "setting": {"command": f"genart {name}", "repeats": args.repeats},
                 "metrics": {k: round(v, 3) for k, v in figures.items()},
                 "cpu": cpu_info(), "commit": commit(), "date": time.strftime("%Y-%m-%d"),
                 "command": "python benchmarks/cli_startup.py"}
                for name, figures in results.items()]
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
