"""Schema-driven fuzzing of `genart serve` with schemathesis, against its own OpenAPI document.

Starts `genart serve` on a free port (on MODEL_ROOT, or on a tiny DCGAN that it
trains and exports into a temporary folder), runs `schemathesis run
http://.../openapi.json --checks all` with a fixed seed, prints schemathesis'
summary and exits with its status. Every check counts: no 5xx, status codes,
content types and bodies as documented, invalid requests refused, valid ones
accepted, `Allow` headers on 405.

    pip install schemathesis            # not a test dependency
    python benchmarks/fuzz_api.py [--model-root exported] [--max-examples 100] [--seed 1]
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def _genart(*args):
    subprocess.run([sys.executable, "-m", "keras_genart.cli", *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


def _tiny_export(folder):
    run = os.path.join(folder, "run")
    _genart("train", "dcgan", "--data", "builtin:mondrian:32", "--image-size", "16",
            "--batch-size", "4", "--epochs", "1", "--steps-per-epoch", "2", "--latent-dim", "8",
            "--base-width", "8", "--run-dir", run, "--quiet")
    _genart("export", run, "--out", os.path.join(folder, "models"))
    return os.path.join(folder, "models")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-root", default=None,
                        help="exported models to serve (default: a tiny one made here)")
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    schemathesis = shutil.which("schemathesis", path=BIN) or shutil.which("schemathesis")
    if schemathesis is None:
        sys.exit("schemathesis is not installed: pip install schemathesis")
    temp = tempfile.mkdtemp(prefix="genart-fuzz-")
    try:
        root = args.model_root or _tiny_export(temp)
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "keras_genart.cli", "serve", root,
                                   "--port", str(port)], cwd=ROOT)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(url + "/v1/models", timeout=1)
                    break
                except OSError:
                    time.sleep(0.5)
            start = time.perf_counter()
            result = subprocess.run(
                [schemathesis, "run", url + "/openapi.json", "--checks", "all",
                 "--max-examples", str(args.max_examples), "--seed", str(args.seed),
                 "--no-color"], capture_output=True, text=True)
            seconds = time.perf_counter() - start
        finally:
            server.terminate()
            server.wait()
        print(result.stdout)
        print(f"schemathesis {args.max_examples} examples per operation, seed {args.seed}: "
              f"exit {result.returncode} in {seconds:.0f} s")
        return result.returncode
    finally:
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
