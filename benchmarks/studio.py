"""The studio in headless Chromium against the Python runtime, side by side in one run.

Exports the reference DCGAN generator (32x32, latent 128, widths 256/128/64; untrained
weights cost the same as trained ones), serves it with `genart serve`'s app, and
measures, for a grid of 16 pictures:

- time to first grid: a fresh page opened (Playwright's `goto`, new browser context:
  no cache) until the first grid is on the canvas, which includes fetching the studio's
  files, the 26 MB onnxruntime-web WebAssembly binary and the model, compiling the
  wasm and running the generator once in a Web Worker;
- per grid after warm-up: median over `--repeats` grids of a new seed (latents drawn in
  JavaScript, onnxruntime-web, tiles drawn on the canvas), as the page reports it;
- the Python runtime (`keras_genart.serving.Generator.sample(16)`: NumPy latents,
  onnxruntime) for the same grid, median over as many repeats.

    python benchmarks/studio.py [--repeats 20] [--pages 3]
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from _machine import cpu_name  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="grids per measurement")
    parser.add_argument("--pages", type=int, default=3, help="fresh page loads timed")
    args = parser.parse_args()

    from keras_genart.serving.studio_assets import missing_message

    if missing_message():  # not in git: npm installs them (make assets)
        sys.exit(f"benchmarks/studio.py: {missing_message()}")
    from playwright.sync_api import sync_playwright

    from keras_genart.export import export_model
    from keras_genart.models import build_model
    from keras_genart.serving import Generator
    from keras_genart.serving.server import create_app
    from tests.helpers import start_server

    work = tempfile.mkdtemp(prefix="genart_studio_")
    model = build_model("dcgan", image_size=32, latent_dim=128, base_width=64, seed=0)
    model.compile()
    export_model(model, os.path.join(work, "models"), name="dcgan", log=lambda *_: None)
    server, thread, port = start_server(create_app(os.path.join(work, "models")))
    url = f"http://127.0.0.1:{port}/studio/?model=dcgan&n=16&seed=0"

    generator = Generator(os.path.join(work, "models", "dcgan", "1"))
    generator.sample(16, seed=0)  # warm-up
    python_ms = []
    for seed in range(1, args.repeats + 1):
        start = time.perf_counter()
        generator.sample(16, seed=seed)
        python_ms.append(1000 * (time.perf_counter() - start))

    first_ms, page_ms = [], []
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
        for _ in range(args.pages):
            context = browser.new_context()
            page = context.new_page()
            start = time.perf_counter()
            page.goto(url)
            page.wait_for_function("document.body.dataset.grids === '1'", timeout=120_000)
            first_ms.append(1000 * (time.perf_counter() - start))
            context.close()
        page = browser.new_page()
        page.goto(url)
        page.wait_for_function("document.body.dataset.state === 'ready'", timeout=120_000)
        for seed in range(1, args.repeats + 1):
            grids = int(page.evaluate("document.body.dataset.grids"))
            page.fill("#seed", str(seed))
            page.dispatch_event("#seed", "change")
            page.wait_for_function(f"Number(document.body.dataset.grids) > {grids} && "
                                   "document.body.dataset.state === 'ready'")
            page_ms.append(float(page.evaluate("document.body.dataset.lastGridMs")))
        browser.close()
    server.should_exit = True
    thread.join(timeout=10)
    shutil.rmtree(work, ignore_errors=True)

    print(f"{cpu_name()}, {os.cpu_count()} CPUs; Chromium headless, onnxruntime-web "
          f"WebAssembly (1 thread) vs Python onnxruntime; a grid of 16 pictures at 32 px")
    print(f"time to first grid (fresh page, no cache): median {statistics.median(first_ms):.0f} ms "
          f"(of {len(first_ms)}: {', '.join(f'{v:.0f}' for v in first_ms)})")
    browser_grid = statistics.median(page_ms)
    python_grid = statistics.median(python_ms)
    print(f"per grid after warm-up: browser median {browser_grid:.1f} ms, Python "
          f"Generator.sample median {python_grid:.1f} ms (ratio {browser_grid / python_grid:.1f}x)")


if __name__ == "__main__":
    main()
