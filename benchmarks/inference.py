"""Inference latency and server throughput, all runtimes in one run.

Exports the reference DCGAN generator (32x32, latent 128, widths 256/128/64;
untrained weights cost the same as trained ones) and measures, for batch 1 and
64: Keras `predict`, a Keras call, the SavedModel signature, onnxruntime and the
HTTP server (`genart serve` in its own process) through a loopback client; then
the server's sustained requests/s with 8 concurrent clients; then a soak: new
versions exported one after another (every fifth one re-exported with --force
over the version being served) while 8 clients keep sending requests, with the
server's RSS after the first version and after the soak.

    python benchmarks/inference.py [--repeats 200] [--requests 10000] [--soak-versions 20]
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def percentiles(samples_s):
    ms = sorted(s * 1000 for s in samples_s)
    return ms[len(ms) // 2], ms[min(len(ms) - 1, int(len(ms) * 0.95))]


def timed(fn, repeats, warmup=5):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(conn, path, body):
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    return response.status, data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--soak-versions", type=int, default=20)
    args = parser.parse_args()

    import tensorflow as tf

    from keras_genart.export import export_model
    from keras_genart.models import build_model
    from keras_genart.serving import Generator

    workdir = tempfile.mkdtemp(prefix="genart-bench-")
    model = build_model("dcgan", image_size=32, latent_dim=128, base_width=64, seed=0)
    model.compile()
    info = export_model(model, workdir, name="ref", log=lambda *_: None)
    saved = tf.saved_model.load(info["path"]).signatures["serving_default"]
    generator = Generator(info["path"])

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "keras_genart.cli", "serve", workdir, "--port", str(port),
         "--max-batch", "64", "--max-body-bytes", str(4 << 20)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.1)
        path = "/v1/models/ref:predict"
        rows = []
        for batch in (1, 64):
            z = np.random.default_rng(0).standard_normal((batch, 128)).astype(np.float32)
            zt = tf.constant(z)
            body = json.dumps({"instances": z.tolist()}).encode()
            conn = http.client.HTTPConnection("127.0.0.1", port)
            repeats = args.repeats if batch == 1 else max(20, args.repeats // 10)
            runs = {
                "keras predict": lambda: model.generator.predict(z, verbose=0),
                "keras call": lambda: model.generator(zt, training=False).numpy(),
                "savedmodel signature": lambda: saved(z=zt)["images"].numpy(),
                "onnxruntime": lambda: generator.run(z),
                "http server (loopback)": lambda: post(conn, path, body),
            }
            for name, fn in runs.items():
                p50, p95 = percentiles(timed(fn, repeats))
                rows.append((batch, name, p50, p95))
            conn.close()

        print(f"latency, {os.cpu_count()} CPUs, TF {tf.__version__}, onnxruntime "
              f"{__import__('onnxruntime').__version__}")
        print(f"{'batch':>5}  {'runtime':24s} {'p50 ms':>8} {'p95 ms':>8}")
        for batch, name, p50, p95 in rows:
            print(f"{batch:5d}  {name:24s} {p50:8.2f} {p95:8.2f}")
        by = {(b, n): p50 for b, n, p50, _ in rows}
        print(f"onnxruntime / savedmodel p50 (batch 1): "
              f"{by[(1, 'onnxruntime')] / by[(1, 'savedmodel signature')]:.2f} (target <= 0.25)")
        print(f"server overhead over onnxruntime p50 (batch 1): "
              f"{by[(1, 'http server (loopback)')] - by[(1, 'onnxruntime')]:.2f} ms "
              "(target <= 2 ms)")
        print(f"server / onnxruntime p50 (batch 64): "
              f"{by[(64, 'http server (loopback)')] / by[(64, 'onnxruntime')]:.2f} "
              "(target <= 3)")

        body = json.dumps({"instances": np.random.default_rng(1).standard_normal(
            (1, 128)).tolist()}).encode()
        counts = {"ok": 0, "errors": 0}
        lock = threading.Lock()
        per_client = args.requests // args.clients

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", port)
            ok = errors = 0
            for _ in range(per_client):
                try:
                    status, _ = post(conn, path, body)
                    ok += status == 200
                    errors += status != 200
                except Exception:
                    errors += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port)
            conn.close()
            with lock:
                counts["ok"] += ok
                counts["errors"] += errors

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        total = counts["ok"] + counts["errors"]
        print(f"throughput: {total} requests (batch 1) from {args.clients} concurrent clients in "
              f"{elapsed:.1f} s = {total / elapsed:.0f} requests/s, {counts['errors']} errors "
              "(target >= 300 requests/s, 0 errors)")
        if args.soak_versions:
            soak(model, workdir, port, path, body, args.clients, args.soak_versions, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def soak(model, workdir, port, path, body, clients, versions, pid):
    """New versions exported while clients send requests: failures and the server's RSS."""
    from keras_genart.export import export_model

    before = rss_mib(pid)
    stop = threading.Event()
    results = {"ok": 0, "errors": 0, "versions": set()}
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port)
        while not stop.is_set():
            try:
                conn.request("POST", path, body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                with lock:
                    results["ok" if response.status == 200 else "errors"] += 1
                    results["versions"].add(response.getheader("X-Model-Version"))
            except Exception:
                with lock:
                    results["errors"] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.close()

    def served_version():
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", path.split(":")[0])
        response = conn.getresponse()
        response.read()
        # The version "latest" answers (the status lists every version, newest first,
        # a loading one too).
        version = response.getheader("X-Model-Version")
        conn.close()
        return int(version)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    try:
        for i in range(versions):
            if i % 5 == 4:  # replace the version being served, in place
                info = export_model(model, workdir, name="ref", version=served_version(),
                                    force=True, formats=["onnx"], log=lambda *_: None)
            else:
                info = export_model(model, workdir, name="ref", formats=["onnx"],
                                    log=lambda *_: None)
            deadline = time.time() + 60
            while served_version() != info["version"] and time.time() < deadline:
                time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join()
    after = rss_mib(pid)
    print(f"soak: {versions} exports ({versions // 5} of them --force over the served version) "
          f"in {time.perf_counter() - start:.0f} s while {clients} clients sent "
          f"{results['ok'] + results['errors']} requests: {results['errors']} failed, "
          f"{len(results['versions'])} versions answered; server RSS {before:.0f} MiB after "
          f"the first version, {after:.0f} MiB after the soak ({after / before:.2f}x; "
          "target <= 1.10x, 0 failed)")


if __name__ == "__main__":
    main()
