"""Good clients under hostile load: does `genart serve` keep answering them, and quickly?

Exports a tiny DCGAN (16 px, latent 8, as tests/conftest.py does; or serves
--model-root) with `genart serve` in its own process on the loopback, then runs
two phases of --seconds each:

1. quiet: --good clients (8) send ordinary requests in turn: `:predict` with 4
   latents and `:sample?n=4`;
2. under attack: the same good clients, and --hostile clients (8) sending, in
   turn, the most expensive requests the API accepts and the worst it refuses:
   the largest `:sample` (n = 64) at the smallest truncation (0.05) and beyond
   it (1e-9), the largest `:predict` batch rendered to PNGs, JSON nested
   900,000 levels, bodies over the limit (declared and chunked), bodies sent a
   byte a second (16 connections at a time, from the first hostile client),
   made-up model names, odd class names and studio paths.

It prints the good clients' p50 / p99 in each phase and their ratio, the good
requests that failed, what the hostile ones got (status codes, 5xx, no answer),
and the server's RSS and Prometheus series count before and after. The goal:
no good request fails, good p99 under attack at most 3x the quiet one, RSS and
series bounded. Every loop ends at its phase's deadline; every socket has a
timeout.

    python benchmarks/hostile_load.py [--seconds 60] [--good 8] [--hostile 8]
                                      [--model-root exported]
"""

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _machine import cpu_name  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = "dcgan"
TIMEOUT = 60  # seconds a client waits for any answer: beyond it, "no answer"


def tiny_export(folder):
    """A DCGAN trained 2 steps on 16 px built-in art, exported under `folder/models`
    (tests/conftest.py's `exported`)."""
    from keras_genart.data import load_images, make_dataset
    from keras_genart.export import export_model
    from keras_genart.models import build_model

    model = build_model("dcgan", image_size=16, latent_dim=8, base_width=8, seed=0)
    model.compile()
    model.fit(make_dataset(load_images("builtin:abstract:16", image_size=16), 4, seed=0),
              epochs=1, steps_per_epoch=2, verbose=0)
    root = os.path.join(folder, "models")
    export_model(model, root, name=MODEL, log=lambda *_: None)
    return root


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def request(conn, method, path, body=None, headers=None):
    """`(status, seconds)` of one request on a kept-alive connection."""
    start = time.perf_counter()
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.read()
    return response.status, time.perf_counter() - start


def series_count(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.request("GET", "/monitoring/prometheus/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def latent_dim(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.request("GET", f"/v1/models/{MODEL}/metadata")
    meta = json.loads(conn.getresponse().read())
    conn.close()
    z = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]["z"]
    return int(z["tensor_shape"]["dim"][1]["size"])


class Tally:
    """Thread-safe lists of latencies and counters of outcomes."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []
        self.outcomes = Counter()

    def add(self, outcome, seconds=None):
        with self.lock:
            self.outcomes[outcome] += 1
            if seconds is not None:
                self.latencies.append(seconds)


def good_client(port, index, dim, deadline, tally):
    """Ordinary requests in turn until the deadline: `:predict` of 4 latents, `:sample?n=4`."""
    rng = random.Random(index)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    turn = 0
    while time.perf_counter() < deadline:
        turn += 1
        try:
            if turn % 2:
                z = [[rng.gauss(0, 1) for _ in range(dim)] for _ in range(4)]
                status, seconds = request(conn, "POST", f"/v1/models/{MODEL}:predict",
                                          json.dumps({"instances": z}),
                                          {"Content-Type": "application/json"})
            else:
                status, seconds = request(conn, "GET", f"/v1/models/{MODEL}:sample?n=4&seed="
                                                       f"{rng.randrange(10 ** 6)}")
            tally.add("ok" if status == 200 else f"status {status}", seconds)
        except (OSError, http.client.HTTPException) as error:
            tally.add(f"no answer: {type(error).__name__}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.close()


def _slow_bodies(port, deadline, count=16, seconds=35):
    """`count` connections that declare a body and send it a byte a second for `seconds`
    (beyond the server's 30 s body deadline) or until the phase ends: how many got a 408."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        sock.sendall(f"POST /v1/models/{MODEL}:predict HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     "application/json\r\nContent-Length: 100000\r\n\r\n{".encode())
        socks.append(sock)
    end = min(deadline, time.perf_counter() + seconds)
    while time.perf_counter() < end:
        time.sleep(1)
        for sock in socks:
            try:
                sock.sendall(b" ")
            except OSError:  # answered and closed by the server
                pass
    answered = 0
    for sock in socks:
        sock.settimeout(0.5)
        try:
            answered += sock.recv(64).startswith(b"HTTP/1.1 408")
        except OSError:
            pass
        sock.close()
    return f"{answered} of {count} got 408"


def hostile_kinds(port, dim):
    """The hostile requests: `{kind: callable(conn, rng, deadline) -> status or text}`."""
    big = json.dumps({"signature_name": "render", "instances": [[0.5] * dim] * 64})
    deep = b"[" * 900_000
    huge = b"[" + b"0," * 1_000_000 + b"0]"
    chunks = [b"[" + b"0," * 50_000] * 20

    def get(path):
        return lambda conn, rng, deadline: request(conn, "GET", path(rng))[0]

    def post(body, headers=None):
        return lambda conn, rng, deadline: request(
            conn, "POST", f"/v1/models/{MODEL}:predict", body(rng),
            {"Content-Type": "application/json", **(headers or {})})[0]

    def chunked(conn, rng, deadline):
        conn.request("POST", f"/v1/models/{MODEL}:predict", body=iter(chunks),
                     encode_chunked=True, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status

    odd_classes = ["²", "--1", "１", "9" * 5000, "\u202e", "a" * 2000, "%00", "-0"]
    studio = ["/studio/a%00.js", "/studio/..%2F..%2Fetc%2Fpasswd", "/studio/index.html",
              "/studio/vendor/none.wasm", "/studio/" + "x/" * 200 + "a.js", "/studio/.git"]
    return {
        "largest sample, truncation 0.05":
            get(lambda rng: f"/v1/models/{MODEL}:sample?n=64&truncation=0.05&seed="
                            f"{rng.randrange(2 ** 63)}"),
        "sample, truncation 1e-9":
            get(lambda rng: f"/v1/models/{MODEL}:sample?n=64&truncation=1e-9"),
        "largest predict, rendered": post(lambda rng: big),
        "JSON 900,000 levels deep": post(lambda rng: deep),
        "body over the limit": post(lambda rng: huge),
        "chunked body over the limit": chunked,
        "made-up model": get(lambda rng: f"/v1/models/m{rng.randrange(10 ** 9)}:sample?n=64"),
        "odd class": get(lambda rng: f"/v1/models/{MODEL}:sample?n=64&class="
                                     + quote(rng.choice(odd_classes))),
        "studio path": get(lambda rng: rng.choice(studio)),
        "slow body": lambda conn, rng, deadline: _slow_bodies(port, deadline),
    }


def hostile_client(port, index, kinds, deadline, tally):
    """The hostile kinds in turn (each client starting at its own) until the deadline; the
    first client sends slow bodies only, the others everything else."""
    rng = random.Random(1000 + index)
    names = ["slow body"] if index == 0 else [k for k in kinds if k != "slow body"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    turn = index
    while time.perf_counter() < deadline:
        kind = names[turn % len(names)]
        turn += 1
        start = time.perf_counter()
        try:
            outcome = kinds[kind](conn, rng, deadline)
            tally.add((kind, outcome), time.perf_counter() - start)
        except (OSError, http.client.HTTPException) as error:
            # A server may close a connection whose body it refused before reading it.
            tally.add((kind, f"connection closed: {type(error).__name__}"))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    conn.close()


def hostile_process(port, dim, seconds, clients, results):
    """The hostile clients, in a process of their own (their Python work would otherwise
    slow the good clients' measurements through the GIL): their outcomes go to `results`."""
    deadline = time.perf_counter() + seconds
    tally = Tally()
    kinds = hostile_kinds(port, dim)
    run_threads(hostile_client, [(port, i, kinds, deadline, tally) for i in range(clients)])
    results.put(tally.outcomes)


def run_threads(target, arguments):
    """Runs `target(*args)` for each of `arguments` in threads of its own, until all end."""
    threads = [threading.Thread(target=target, args=args) for args in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_phase(port, dim, seconds, good, hostile):
    """`(good tally, Counter of the hostile outcomes)` of one phase."""
    import multiprocessing

    results = multiprocessing.get_context("spawn").Queue()
    attack = None
    if hostile:
        attack = multiprocessing.get_context("spawn").Process(
            target=hostile_process, args=(port, dim, seconds, hostile, results))
        attack.start()
    deadline = time.perf_counter() + seconds
    tally = Tally()
    run_threads(good_client, [(port, i, dim, deadline, tally) for i in range(good)])
    outcomes = Counter()
    if attack is not None:
        outcomes = results.get(timeout=seconds + 2 * TIMEOUT)
        attack.join(timeout=TIMEOUT)
    return tally, outcomes


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


def wait_for_server(port, proc):
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"genart serve exited with status {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            if request(conn, "GET", f"/v1/models/{MODEL}")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("genart serve did not answer within 120 s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of each phase")
    parser.add_argument("--good", type=int, default=8, help="good clients")
    parser.add_argument("--hostile", type=int, default=8, help="hostile clients")
    parser.add_argument("--model-root", default=None,
                        help=f"exported models with one named {MODEL!r} (default: a tiny "
                             "one made here)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="genart-hostile-")
    try:
        root = args.model_root or tiny_export(folder)
        port = free_port()
        log_path = os.path.join(folder, "serve.log")
        with open(log_path, "wb") as log:  # a file: a pipe nobody reads would fill and block
            server = subprocess.Popen([sys.executable, "-m", "keras_genart.cli", "serve", root,
                                       "--port", str(port)], cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_for_server(port, server)
            dim = latent_dim(port)
            run_phase(port, dim, min(5, args.seconds), args.good, 0)  # warm up
            rss = [rss_mib(server.pid)]
            series = [series_count(port)]
            quiet, _ = run_phase(port, dim, args.seconds, args.good, 0)
            rss.append(rss_mib(server.pid))
            series.append(series_count(port))
            loud, hostile = run_phase(port, dim, args.seconds, args.good, args.hostile)
            rss.append(rss_mib(server.pid))
            series.append(series_count(port))
            report(args, quiet, loud, hostile, rss, series)
        finally:
            stop_server(server, log_path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def stop_server(server, log_path):
    """SIGTERM, then what the server's exit and log say."""
    start = time.perf_counter()
    server.terminate()
    try:
        server.wait(timeout=40)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        print("genart serve was still running 40 s after SIGTERM")
    with open(log_path, errors="replace") as f:
        text = f.read()
    print(f"genart serve exited with status {server.returncode} "
          f"{time.perf_counter() - start:.1f} s after SIGTERM; {text.count('Traceback')} "
          "tracebacks in its log")
    if "Traceback" in text:
        print(text[text.index("Traceback"):][:3000])


def report(args, quiet, loud, hostile, rss, series):
    print(f"{cpu_name()}, {os.cpu_count()} CPUs; {args.good} good clients, "
          f"{args.hostile} hostile, {args.seconds:g} s a phase")
    rows = []
    for name, tally in (("quiet", quiet), ("under attack", loud)):
        failed = sum(n for k, n in tally.outcomes.items() if k != "ok")
        rows.append((percentile(tally.latencies, 0.5), percentile(tally.latencies, 0.99)))
        print(f"good, {name:12s}: {tally.outcomes['ok']:6d} answered, {failed} failed "
              f"{dict(tally.outcomes) if failed else ''}; p50 {rows[-1][0]:.1f} ms, "
              f"p99 {rows[-1][1]:.1f} ms")
    print(f"good p99 under attack / quiet: {rows[1][1] / rows[0][1]:.2f}x (goal <= 3x); "
          f"p50 {rows[1][0] / rows[0][0]:.2f}x")
    by_kind = {}
    for (kind, outcome), n in hostile.items():
        by_kind.setdefault(kind, Counter())[outcome] += n
    print("hostile requests:")
    for kind, outcomes in sorted(by_kind.items()):
        print(f"  {kind:34s} " + ", ".join(f"{o}: {n}" for o, n in sorted(
            outcomes.items(), key=str)))
    server_errors = sum(n for (_, o), n in hostile.items()
                        if isinstance(o, int) and o >= 500)
    print(f"hostile answers 5xx: {server_errors}")
    print(f"server RSS: {rss[0]:.0f} MiB before, {rss[1]:.0f} after the quiet phase, "
          f"{rss[2]:.0f} after the attack ({rss[2] / rss[1]:.2f}x)")
    print(f"Prometheus series: {series[0]} before, {series[1]} after the quiet phase, "
          f"{series[2]} after the attack")


if __name__ == "__main__":
    main()
