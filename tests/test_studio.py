"""The studio page (`genart serve` -> /studio/) in a real browser: headless Chromium
driven by Playwright, the generator running in the page with onnxruntime-web."""

import io
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from keras_genart.serving import studio_assets
from tests.helpers import start_server

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Debian's Chromium, started as the machine allows: no sandbox as root, no network calls.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
STYLES = ["bauhaus", "kandinsky", "mondrian", "op_art", "suprematism"]


def test_onnxruntime_is_pinned_once_with_its_integrity_hash():
    node = os.path.join(ROOT, "serving", "node")
    with open(os.path.join(node, "package.json")) as file:
        wanted = json.load(file)["dependencies"]
    with open(os.path.join(node, "package-lock.json")) as file:
        locked = json.load(file)["packages"]
    # One version for the studio (web) and the Node example (node), as onnxruntime's.
    assert wanted["onnxruntime-web"] == wanted["onnxruntime-node"]
    for package in ("onnxruntime-web", "onnxruntime-node"):
        assert locked[f"node_modules/{package}"]["version"] == wanted[package]
        assert locked[f"node_modules/{package}"]["integrity"].startswith("sha512-")


@pytest.fixture
def no_assets(tmp_path, monkeypatch):
    """The studio's onnxruntime-web files are in neither place (not installed, not built)."""
    monkeypatch.setattr(studio_assets, "PACKAGED_DIR", str(tmp_path / "vendor"))
    monkeypatch.setattr(studio_assets, "NPM_DIR", str(tmp_path / "dist"))
    return tmp_path


def test_studio_assets_come_from_the_package_then_from_npm(no_assets):
    assert studio_assets.assets_dir() is None and studio_assets.asset_file("ort.min.js") is None
    assert studio_assets.missing_assets() == list(studio_assets.ASSET_FILES)
    assert "make assets" in studio_assets.missing_message()
    (no_assets / "dist").mkdir()
    for name in studio_assets.ASSET_FILES:
        (no_assets / "dist" / name).write_bytes(b"x")
    assert studio_assets.assets_dir() == str(no_assets / "dist")
    assert studio_assets.missing_message() is None
    (no_assets / "vendor").mkdir()
    (no_assets / "vendor" / studio_assets.ASSET_FILES[0]).write_bytes(b"x")  # a partial copy
    assert studio_assets.assets_dir() == str(no_assets / "dist")
    assert studio_assets.missing_assets() == []
    for name in studio_assets.ASSET_FILES:
        (no_assets / "vendor" / name).write_bytes(b"x")
    assert studio_assets.asset_file(name) == str(no_assets / "vendor" / name)


def test_studio_says_how_to_get_missing_assets(studio_server, no_assets):
    import httpx

    response = httpx.get(studio_server["url"] + "/studio/vendor/ort.webgpu.min.js")
    assert response.status_code == 503
    assert "make assets" in response.json()["error"]


def test_studio_files_and_model_files_are_served(assets, studio_server):
    import httpx

    base = studio_server["url"]
    assert httpx.get(base + "/", follow_redirects=False).headers["location"] == "/studio/"
    page = httpx.get(base + "/studio/")
    assert page.status_code == 200 and "keras_genart studio" in page.text
    assert httpx.get(base + "/studio/latents.js").text.startswith("// keras_genart's latent")
    wasm = httpx.get(base + "/studio/vendor/ort-wasm-simd-threaded.asyncify.wasm")
    assert wasm.headers["content-type"] == "application/wasm" and wasm.content[:4] == b"\0asm"
    for bad in ("/studio/../server.py", "/studio/.hidden", "/studio/vendor/nope.js",
                "/studio/vendor/ort.min.js"):  # onnxruntime-web's, not the studio's
        assert httpx.get(base + bad).status_code == 404
    models = httpx.get(base + "/studio/models.json").json()["models"]
    assert [(m["name"], m["versions"]) for m in models] == [("broken", ["1"]), ("cgan", ["1"])]
    assert models[1]["metadata"]["class_names"] == STYLES
    onnx = httpx.get(base + "/v1/models/cgan/versions/1/files/model.onnx")
    assert onnx.status_code == 200 and onnx.headers["x-model-version"] == "1"
    assert onnx.content == (studio_server["version_dir"] / "model.onnx").read_bytes()
    missing = httpx.get(base + "/v1/models/cgan/files/saved_model.pb")
    assert missing.status_code == 404 and "no file 'saved_model.pb'" in missing.json()["error"]
    paths = httpx.get(base + "/openapi.json").json()["paths"]  # in the published contract
    files = paths["/v1/models/cgan/versions/{version}/files/{file}"]["get"]["parameters"][1]
    assert files["schema"]["enum"] == ["metadata.json", "model.onnx"]
    assert "/studio/models.json" in paths


@pytest.fixture(scope="module")
def studio_server(tmp_path_factory):
    """`genart serve`'s app on 127.0.0.1 with a tiny conditional DCGAN (`cgan`) and a
    version whose model.onnx is broken (`broken`)."""
    from keras_genart.export import export_model
    from keras_genart.models import build_model
    from keras_genart.serving.server import create_app

    base = tmp_path_factory.mktemp("studio")
    model = build_model("dcgan", image_size=16, latent_dim=8, base_width=8, seed=0,
                        class_names=STYLES)
    model.compile()
    rng = np.random.default_rng(0)
    model.train_on_batch(rng.uniform(-1, 1, (4, 16, 16, 3)).astype("float32"),
                         np.arange(4) % 5)
    metadata = export_model(model, base / "models", name="cgan", log=lambda *_: None)
    broken = base / "models" / "broken" / "1"
    shutil.copytree(metadata["path"], broken)
    (broken / "model.onnx").write_bytes(b"not an onnx file")
    meta = json.loads((broken / "metadata.json").read_text())
    meta["sha256"].pop("model.onnx")
    (broken / "metadata.json").write_text(json.dumps(meta))
    server, thread, port = start_server(create_app(str(base / "models")))
    yield {"url": f"http://127.0.0.1:{port}", "version_dir": base / "models" / "cgan" / "1"}
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def assets():
    """The studio's onnxruntime-web files: installed from the lockfile by `make test`."""
    message = studio_assets.missing_message()
    if message:
        pytest.skip(message)


@pytest.fixture(scope="module")
def browser(assets):
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; `make test` "
                    "installs it where it can)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open(browser, url, init_script=None):
    page = browser.new_page(accept_downloads=True)
    if init_script:
        page.add_init_script(init_script)
    page.goto(url)
    _settled(page)
    return page


def _settled(page, grids=None):
    """Waits until the page is ready (with more than `grids` grids made) or shows an error."""
    condition = ("['ready', 'error'].includes(document.body.dataset.state)" if grids is None
                 else f"document.body.dataset.state === 'error' || "
                      f"(document.body.dataset.state === 'ready' && "
                      f"Number(document.body.dataset.grids) > {grids})")
    page.wait_for_function(condition, timeout=60_000)
    return page.evaluate("document.body.dataset.state")


def _canvas(page, canvas_id):
    """The canvas' pixels as uint8 RGB `(h, w, 3)`."""
    shape, values = page.evaluate("""(id) => {
        const canvas = document.getElementById(id);
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        return [[canvas.height, canvas.width], Array.from(data.data)];
    }""", canvas_id)
    return np.asarray(values, np.uint8).reshape(shape + [4])[..., :3]


def _differs(a, b):
    assert a.shape == b.shape, (a.shape, b.shape)
    return int(np.abs(a.astype(int) - b.astype(int)).max())


def test_studio_makes_the_pythons_pictures_in_the_browser(studio_server, browser, tmp_path):
    from keras_genart import imaging
    from keras_genart.serving import Generator

    generator = Generator(studio_server["version_dir"])
    page = _open(browser, studio_server["url"] + "/studio/?model=cgan&seed=7&n=16")
    assert page.evaluate("document.body.dataset.state") == "ready", page.inner_text("#error")
    assert "onnxruntime-web" in page.inner_text("#backend")
    expected = imaging.make_grid(generator.sample(16, seed=7))
    assert _differs(_canvas(page, "grid"), expected) <= 1  # 1/255 per channel
    # The class selector and the truncation slider make new grids.
    grids = int(page.evaluate("document.body.dataset.grids"))
    page.select_option("#class", label="op_art")
    _settled(page, grids)
    assert _differs(_canvas(page, "grid"), imaging.make_grid(
        generator.sample(16, seed=7, label="op_art"))) <= 1
    grids = int(page.evaluate("document.body.dataset.grids"))
    page.eval_on_selector("#truncation", "el => { el.value = '0.5'; "
                                         "el.dispatchEvent(new Event('change')); }")
    _settled(page, grids)
    assert _differs(_canvas(page, "grid"), imaging.make_grid(
        generator.sample(16, seed=7, label="op_art", truncation=0.5))) <= 1
    # The walk between two seeds: the slider picks a frame of Generator.interpolate's.
    page.eval_on_selector("#position", "el => { el.value = '3'; "
                                       "el.dispatchEvent(new Event('input')); }")
    page.wait_for_function("document.getElementById('position-value').textContent === '3 / 7'")
    walk = generator.interpolate(0, 1, steps=8, label="op_art", truncation=0.5)
    assert _differs(_canvas(page, "frame"), imaging.make_grid(walk[3:4])) <= 1
    # Save: a PNG with the provenance text chunks of `genart sample`.
    with page.expect_download() as download:
        page.click("#save")
    with Image.open(download.value.path()) as saved:
        assert saved.text["keras_genart.seed"] == "7"
        assert saved.text["keras_genart.model"] == "cgan/1"
        assert saved.text["keras_genart.class"] == "op_art"
        assert saved.text["keras_genart.truncation"] == "0.5"
        assert _differs(np.asarray(saved.convert("RGB")), _canvas(page, "grid")) == 0
    artifacts = os.environ.get("GENART_TEST_ARTIFACTS", str(tmp_path))
    os.makedirs(artifacts, exist_ok=True)
    page.screenshot(path=os.path.join(artifacts, "studio.png"), full_page=True)
    print(f"studio: first grid {page.evaluate('document.body.dataset.firstGridMs')} ms, "
          f"screenshot in {artifacts}")
    page.close()


def test_studio_falls_back_to_the_server_without_webassembly(studio_server, browser):
    from keras_genart import imaging
    from keras_genart.serving import Generator

    page = _open(browser, studio_server["url"] + "/studio/?model=cgan&seed=3&n=4",
                 init_script="delete globalThis.WebAssembly;")
    assert page.evaluate("document.body.dataset.state") == "ready", page.inner_text("#error")
    assert "WebAssembly is not available" in page.inner_text("#notice")
    expected = imaging.make_grid(Generator(studio_server["version_dir"]).sample(4, seed=3))
    assert _differs(_canvas(page, "grid"), expected) == 0  # the server's own PNG
    page.close()


@pytest.mark.parametrize("query,message", [
    ("model=nope", "unknown model 'nope'; this server has broken, cgan"),
    ("model=cgan&version=9", "model 'cgan' has no served version 9"),
    ("model=cgan&class=dots", "unknown class 'dots'"),
    ("model=broken", "model.onnx"),
])
def test_studio_says_what_went_wrong(studio_server, browser, query, message):
    page = _open(browser, f"{studio_server['url']}/studio/?{query}")
    assert page.evaluate("document.body.dataset.state") == "error"
    assert page.is_visible("#error") and message in page.inner_text("#error")
    page.close()


def test_studio_page_says_how_to_get_missing_assets(studio_server, browser, no_assets):
    page = _open(browser, f"{studio_server['url']}/studio/?model=cgan")
    assert page.evaluate("document.body.dataset.state") == "error"
    assert "onnxruntime-web's files did not load: run `make assets`" in page.inner_text("#error")
    page.close()


@pytest.fixture(scope="module")
def latent_studio(tmp_path_factory):
    """The app with a tiny DCGAN of latent-coded classes (`lgan`: z only, five styles)."""
    from keras_genart.export import export_model
    from keras_genart.models import build_model
    from keras_genart.serving.server import create_app

    base = tmp_path_factory.mktemp("latent-studio")
    model = build_model("dcgan", image_size=16, latent_dim=8, base_width=8, seed=0,
                        latent_class_names=STYLES, latent_class_shares=[1, 2, 1, 1, 1])
    model.compile()
    rng = np.random.default_rng(0)
    model.train_on_batch(rng.uniform(-1, 1, (4, 16, 16, 3)).astype("float32"),
                         np.arange(4) % 5)
    metadata = export_model(model, base / "models", name="lgan", log=lambda *_: None)
    server, thread, port = start_server(create_app(str(base / "models")))
    yield {"url": f"http://127.0.0.1:{port}", "version_dir": metadata["path"]}
    server.should_exit = True
    thread.join(timeout=10)


def test_studio_asks_latent_coded_classes(latent_studio, browser):
    from keras_genart import imaging
    from keras_genart.serving import Generator

    generator = Generator(latent_studio["version_dir"])
    page = _open(browser, latent_studio["url"] + "/studio/?model=lgan&seed=7&n=8")
    assert page.evaluate("document.body.dataset.state") == "ready", page.inner_text("#error")
    assert "classes (coded in z)" in page.inner_text("#about")
    # Unasked, the latents pick their classes; asked, they move into the class's arc.
    assert _differs(_canvas(page, "grid"), imaging.make_grid(generator.sample(8, seed=7))) <= 1
    grids = int(page.evaluate("document.body.dataset.grids"))
    page.select_option("#class", label="op_art")
    _settled(page, grids)
    assert _differs(_canvas(page, "grid"), imaging.make_grid(
        generator.sample(8, seed=7, label="op_art"))) <= 1
    page.eval_on_selector("#position", "el => { el.value = '3'; "
                                       "el.dispatchEvent(new Event('input')); }")
    page.wait_for_function("document.getElementById('position-value').textContent === '3 / 7'")
    walk = generator.interpolate(0, 1, steps=8, label="op_art")
    assert _differs(_canvas(page, "frame"), imaging.make_grid(walk[3:4])) <= 1
    page.close()
