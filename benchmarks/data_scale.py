"""Data sets that do not fit in memory (issue 29): prepare once, train and evaluate by streaming.

Stages, each printed with the CPU it ran on (results also written as JSON with --json):

1. `folder`: the built-in art drawn once at 128 px and written as PNG files in class
   sub-folders (`--pictures`, default 100,000; cached under `--work`).
2. `prepare`: `genart prepare` of that folder, pictures per second on this machine's
   cores, against decoding the same folder into memory as today (`load_image_folder`,
   on the first `--compare` pictures, per picture).
3. `memory`: peak memory (PSS of the training process and its data workers, summed)
   of `genart train dcgan` for `--steps` steps at 128 px from the prepared set,
   against the same run on a 1,000-picture prepared set: the difference is what the
   data set's size costs (goal: at most 1.5 GB).
4. `evaluate`: `genart evaluate` of `--generated` pictures of that run against the
   prepared set: peak memory and time.

Throughput of streamed against in-memory batches is `benchmarks/stream_throughput.py`
(run with `--prepared` pointing at a set this script made).

    python benchmarks/data_scale.py [--pictures 100000] [--steps 300] [--stages folder,prepare,memory,evaluate]
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from _machine import cpu_info, cpu_name  # noqa: E402

GENART = [sys.executable, "-m", "keras_genart.cli"]
SIZE = 128


def _write_pictures(job):
    folder, start, stop, size, seed = job
    import numpy as np
    from PIL import Image

    from keras_genart.data.builtin_art import STYLES, render

    for i in range(start, stop):  # make_art's picture i: style i % 5, rng (seed, i)
        style = STYLES[i % len(STYLES)]
        path = os.path.join(folder, style, f"{i:06d}.png")
        Image.fromarray(render(style, size, np.random.default_rng([seed, i]))).save(path)


def write_folder(folder, count, size=SIZE, seed=0, chunk=1000):
    """`builtin:abstract` as PNG files, `style/NNNNNN.png`, on every core; kept once complete."""
    import multiprocessing

    from keras_genart.data.builtin_art import STYLES

    done = os.path.join(folder, ".complete")
    if os.path.exists(done) and open(done).read() == f"{count} {size} {seed}":
        return
    for style in STYLES:
        os.makedirs(os.path.join(folder, style), exist_ok=True)
    jobs = [(folder, start, min(start + chunk, count), size, seed)
            for start in range(0, count, chunk)]
    with multiprocessing.Pool() as pool:
        for _ in pool.imap_unordered(_write_pictures, jobs):
            pass
    with open(done, "w") as f:
        f.write(f"{count} {size} {seed}")


class PeakMemory:
    """Samples the summed PSS of a process and all its descendants every `interval` s."""

    def __init__(self, pid, interval=0.5):
        import psutil

        self.process, self.interval, self.peak = psutil.Process(pid), interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import psutil

        while not self._stop.is_set():
            total = 0
            try:
                for p in [self.process, *self.process.children(recursive=True)]:
                    try:
                        total += p.memory_full_info().pss
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        pass
            except psutil.NoSuchProcess:
                break
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak


def run_measured(command, log):
    """Runs `command`, returning (seconds, peak PSS bytes); raises with its log on failure."""
    start = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        memory = PeakMemory(process.pid)
        code = process.wait()
        peak = memory.stop()
    seconds = time.perf_counter() - start
    if code:
        raise SystemExit(f"{' '.join(command)} failed ({code}); see {log}:\n"
                         + open(log).read()[-3000:])
    return seconds, peak


def stage_prepare(args, folder, prepared):
    from keras_genart.data import load_image_folder

    seconds, peak = run_measured(
        GENART + ["prepare", folder, "--out", prepared, "--image-size", str(SIZE)],
        os.path.join(args.work, "prepare.log"))
    subset = os.path.join(args.work, f"subset{args.compare}")
    if not os.path.exists(subset):  # the first pictures of every class, as a folder
        for name in sorted(os.listdir(folder)):
            if name.startswith("."):
                continue
            os.makedirs(os.path.join(subset, name))
            files = sorted(os.listdir(os.path.join(folder, name)))
            for file in files[:args.compare // 5]:
                os.symlink(os.path.join(folder, name, file), os.path.join(subset, name, file))
    start = time.perf_counter()
    images = load_image_folder(subset, SIZE)[0]
    memory_seconds = time.perf_counter() - start
    return {"prepare_pictures_per_s": args.pictures / seconds, "prepare_s": seconds,
            "prepare_peak_gb": peak / 1e9,
            "in_memory_pictures_per_s": len(images) / memory_seconds,
            "in_memory_compared_on": len(images)}


def train_command(data, run_dir, steps):
    return GENART + ["train", "dcgan", "--data", data, "--image-size", str(SIZE),
                     "--epochs", "1", "--steps-per-epoch", str(steps), "--run-dir", run_dir,
                     "--quiet"]


def stage_memory(args, folder, prepared):
    small_folder = os.path.join(args.work, "folder1000")
    small = os.path.join(args.work, "prepared1000")
    write_folder(small_folder, 1000)
    if not os.path.exists(os.path.join(small, "manifest.json")):
        subprocess.run(GENART + ["prepare", small_folder, "--out", small, "--image-size",
                                 str(SIZE)], check=True, capture_output=True)
    results = {}
    for name, data in (("1000", small), (str(args.pictures), prepared)):
        run_dir = os.path.join(args.work, f"run{name}")
        subprocess.run(["rm", "-rf", run_dir], check=True)
        seconds, peak = run_measured(train_command(data, run_dir, args.steps),
                                     os.path.join(args.work, f"train{name}.log"))
        results[f"train_{name}_peak_gb"] = peak / 1e9
        results[f"train_{name}_s"] = seconds
    results["train_extra_gb"] = (results[f"train_{args.pictures}_peak_gb"]
                                 - results["train_1000_peak_gb"])
    return results


def stage_evaluate(args, prepared):
    run_dir = os.path.join(args.work, f"run{args.pictures}")
    seconds, peak = run_measured(
        GENART + ["evaluate", run_dir, "--data", prepared, "--n", str(args.generated),
                  "--metrics", "fid,kid,novelty", "--out", os.path.join(args.work, "evaluation.json")],
        os.path.join(args.work, "evaluate.log"))
    return {"evaluate_s": seconds, "evaluate_peak_gb": peak / 1e9}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--generated", type=int, default=10_000)
    parser.add_argument("--compare", type=int, default=5_000,
                        help="pictures decoded into memory for the comparison with prepare")
    parser.add_argument("--work", default="/tmp/genart_data_scale")
    parser.add_argument("--stages", default="folder,prepare,memory,evaluate")
    parser.add_argument("--json", help="append the results to this JSON list")
    args = parser.parse_args()
    stages = args.stages.split(",")
    folder = os.path.join(args.work, f"folder{args.pictures}")
    prepared = os.path.join(args.work, f"prepared{args.pictures}")
    print(f"CPU: {cpu_name()} ({os.cpu_count()} cores)")
    results = {}
    if "folder" in stages:
        start = time.perf_counter()
        write_folder(folder, args.pictures)
        print(f"folder: {args.pictures} PNG files at {SIZE} px in {time.perf_counter() - start:.0f} s")
    if "prepare" in stages:
        results.update(stage_prepare(args, folder, prepared))
    if "memory" in stages:
        results.update(stage_memory(args, folder, prepared))
    if "evaluate" in stages:
        results.update(stage_evaluate(args, prepared))
    for key, value in results.items():
        print(f"{key:>32}: {value:.3f}" if isinstance(value, float) else f"{key:>32}: {value}")
    if args.json:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
        rows = json.load(open(args.json)) if os.path.exists(args.json) else []
        rows.append({"benchmark": "data_scale", "setting": vars(args), "metrics": results,
                     "cpu": cpu_info(), "commit": commit, "date": time.strftime("%Y-%m-%d"),
                     "command": " ".join(sys.argv)})
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
