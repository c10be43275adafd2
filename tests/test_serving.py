import base64
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

from keras_genart.latents import sample_latents
from keras_genart.serving import Generator
from tests.helpers import free_port, start_server

httpx = pytest.importorskip("httpx")


def test_serving_import_leaves_tensorflow_out():
    code = ("import sys\nimport keras_genart.serving, keras_genart.serving.server\n"
            "from keras_genart.serving import Generator\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'tf2onnx',\n"
            "                          'keras_genart.export.exporter') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the runtime ---------------------------------------------------------------

def test_generator_matches_keras(exported):
    gen = Generator(exported["version_dir"])
    model = exported["model"]
    assert gen.run(sample_latents(4, 8, 2)).shape == (4, 16, 16, 3)
    assert np.abs(gen.run(gen.latents(4, 2)) - model.generate(4, seed=2)).max() <= 1e-4
    pictures = gen.sample(3, seed=1)
    assert pictures.dtype == np.uint8 and pictures.shape == (3, 16, 16, 3)
    np.testing.assert_array_equal(pictures, gen.sample(3, seed=1))
    assert not np.array_equal(pictures, gen.sample(3, seed=2))


def test_generator_interpolates_between_seeds(exported):
    gen = Generator(exported["version_dir"])
    path = gen.interpolate(4, 9, steps=5)
    assert path.shape == (5, 16, 16, 3)
    np.testing.assert_array_equal(path[0], gen.sample(1, seed=4)[0])
    np.testing.assert_array_equal(path[-1], gen.sample(1, seed=9)[0])
    with pytest.raises(ValueError, match="steps must be at least 2"):
        gen.interpolate(1, 2, steps=1)


def test_generator_png_outputs(exported):
    gen = Generator(exported["version_dir"])
    grid = Image.open(io.BytesIO(gen.sample_png(4, seed=0)))
    assert grid.size == (38, 38) and grid.text["keras_genart.seed"] == "0"
    single = Image.open(io.BytesIO(gen.png(gen.sample(1, 0))[0]))
    np.testing.assert_array_equal(np.asarray(single), gen.sample(1, 0)[0])


def test_generator_refuses_changed_onnx(exported, tmp_path):
    copy = tmp_path / "1"
    shutil.copytree(exported["version_dir"], copy)
    with open(copy / "model.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ValueError, match="does not match the sha256"):
        Generator(copy)


# --- the REST server ------------------------------------------------------------

@pytest.fixture
def client(exported):
    from fastapi.testclient import TestClient

    from keras_genart.serving.server import create_app

    return TestClient(create_app(exported["root"], max_batch=8, max_body_bytes=20_000))


def test_status_and_metadata(client):
    status = client.get("/v1/models/dcgan").json()
    assert status == {"model_version_status": [{
        "version": "1", "state": "AVAILABLE",
        "status": {"error_code": "OK", "error_message": ""}}]}
    assert client.get("/v1/models/dcgan/versions/1").json() == status
    meta = client.get("/v1/models/dcgan/metadata").json()
    assert meta["model_spec"] == {"name": "dcgan", "signature_name": "", "version": "1"}
    sigs = meta["metadata"]["signature_def"]["signature_def"]
    assert set(sigs) == {"serving_default", "render"}
    z = sigs["serving_default"]["inputs"]["z"]
    assert z["dtype"] == "DT_FLOAT" and [d["size"] for d in z["tensor_shape"]["dim"]] == ["-1", "8"]
    assert set(sigs["render"]["outputs"]) == {"images_bytes"}
    assert client.get("/v1/models").json() == {"models": ["dcgan"]}


def test_predict_row_and_columnar(client, exported):
    z = sample_latents(2, 8, seed=3)
    expected = exported["model"].generate_from_latents(z)
    row = client.post("/v1/models/dcgan:predict", json={"instances": z.tolist()})
    assert row.status_code == 200
    images = np.array(row.json()["predictions"], np.float32)
    assert images.shape == (2, 16, 16, 3) and np.abs(images - expected).max() <= 1e-4
    # The contract: the runtime's float32 values rounded to 6 decimals (in float64).
    exact = np.round(Generator(exported["version_dir"]).run(z).astype(np.float64), 6)
    assert json.loads(row.content)["predictions"] == exact.tolist()
    named = client.post("/v1/models/dcgan/versions/1:predict",
                        json={"instances": [{"z": v} for v in z.tolist()]})
    np.testing.assert_allclose(np.array(named.json()["predictions"]), images)
    columnar = client.post("/v1/models/dcgan:predict", json={"inputs": {"z": z.tolist()}})
    np.testing.assert_allclose(np.array(columnar.json()["outputs"]), images)
    bare = client.post("/v1/models/dcgan:predict", json={"inputs": z.tolist()})
    np.testing.assert_allclose(np.array(bare.json()["outputs"]), images)


def test_predict_render_returns_base64_pngs(client, exported):
    z = sample_latents(2, 8, seed=3)
    out = client.post("/v1/models/dcgan:predict",
                      json={"signature_name": "render", "instances": z.tolist()}).json()
    picture = np.asarray(Image.open(io.BytesIO(base64.b64decode(out["predictions"][1]["b64"]))))
    expected = exported["model"].generate_from_latents(z)[1]
    assert np.abs(picture / 255.0 - expected).max() <= 1 / 255 + 1e-6


def test_sample_endpoint(client):
    r = client.get("/v1/models/dcgan:sample?seed=2&n=4")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["x-model-version"] == "1"
    assert Image.open(io.BytesIO(r.content)).size == (38, 38)
    # The same provenance text chunks as `genart sample` writes.
    chunks = Image.open(io.BytesIO(r.content)).text
    assert set(PROVENANCE) <= set(chunks)
    assert chunks["keras_genart.model"] == "dcgan/1" and chunks["keras_genart.seed"] == "2"
    assert chunks["keras_genart.model_type"] == "dcgan" and chunks["keras_genart.n"] == "4"
    assert client.get("/v1/models/dcgan:sample?n=1000").status_code == 400



@pytest.fixture(scope="module")
def coded_client(exported, tmp_path_factory):
    """A client of a latent-coded copy of the exported model (classes "a", "b", "c"): the
    classes move the latents only, so a copy of the metadata with them is such a model."""
    from fastapi.testclient import TestClient

    from keras_genart.serving.server import create_app

    root = tmp_path_factory.mktemp("coded") / "models"
    shutil.copytree(exported["root"], root)
    meta_file = root / "dcgan" / "1" / "metadata.json"
    meta = json.loads(meta_file.read_text())
    meta["latent_classes"] = {"class_names": ["a", "b", "c"], "shares": [0.5, 0.25, 0.25]}
    meta_file.write_text(json.dumps(meta))
    return TestClient(create_app(root), raise_server_exceptions=False)


def test_sample_takes_a_class_by_name_or_ascii_index(coded_client):
    for asked in ("b", "1"):
        r = coded_client.get(f"/v1/models/dcgan:sample?n=2&class={asked}")
        assert r.status_code == 200, (asked, r.text)
        assert Image.open(io.BytesIO(r.content)).text["keras_genart.class"] == "b"
    r = coded_client.get("/v1/models/dcgan:sample?n=2&class=-1")
    assert r.status_code == 400 and "label -1 is not a class" in r.json()["error"]
    # Superscripts, full-width digits and doubled signs are not indices: each is a 400
    # that names the classes, never a 500 nor another class.
    for asked in ("²", "１", "--1", "+1", " 1", "1_0", "٣", "9" * 5000):
        r = coded_client.get("/v1/models/dcgan:sample", params={"n": 2, "class": asked})
        assert r.status_code == 400, (asked[:9], r.status_code, r.text[:200])
        assert "unknown class" in r.json()["error"] and "a, b, c" in r.json()["error"], asked[:9]
    # seed and n the same way: ASCII digits only, one parser for every number of a query.
    for name in ("seed", "n"):
        for asked in ("１", "+1", " 1", "1_0", "²"):
            r = coded_client.get("/v1/models/dcgan:sample", params={"n": 2, name: asked})
            assert r.status_code == 400, (name, asked, r.status_code)
            assert f"{name} must be a whole number in ASCII digits" in r.json()["error"]


def test_the_cli_reads_a_class_as_the_server_does():
    # One parser (genart sample/vary --class, :sample?class=): "²" was int("²"), a traceback.
    from keras_genart.latents import label_from_text

    assert [label_from_text(t, ["a", "b"]) for t in ("b", "1", "-1", "²", "１")] == [
        "b", 1, -1, "²", "１"]


Z8 = json.dumps([0.0] * 8)
PROVENANCE = ("Software", "keras_genart.model_type", "keras_genart.model", "keras_genart.seed",
              "keras_genart.latents", "keras_genart.version", "keras_genart.n")


@pytest.mark.parametrize("method,path,body,status,message", [
    ("post", "/v1/models/dcgan:predict", "{not json", 400, "malformed JSON"),
    ("post", "/v1/models/dcgan:predict", '{"instances": [[1, 2]]}', 400,
     "'z' must have shape [batch, 8] with batch >= 1, got [1, 2]"),
    ("post", "/v1/models/dcgan:predict", '{"instances": [[1], [1, 2]]}', 400, "rectangular"),
    ("post", "/v1/models/dcgan:predict", '{"instances": [["a","b","c","d","e","f","g","h"]]}',
     400, "must hold numbers"),
    ("post", "/v1/models/dcgan:predict", '{"instances": [[true,1,1,1,1,1,1,1]]}', 400,
     "must hold numbers"),
    ("post", "/v1/models/dcgan:predict", '{"instances": [[NaN,1,1,1,1,1,1,1]]}', 400,
     "NaN, Infinity"),
    ("post", "/v1/models/dcgan:predict", '{"instances": [[Infinity,1,1,1,1,1,1,1]]}', 400,
     "NaN, Infinity"),
    ("post", "/v1/models/dcgan:predict", '{"instances": [[-1e39,1,1,1,1,1,1,1]]}', 400,
     "beyond float32's range"),
    ("post", "/v1/models/dcgan:predict", '{"instances": []}', 400, "batch >= 1"),
    ("post", "/v1/models/dcgan:predict", '{"instances": %s}' % json.dumps([[0.0] * 8] * 9),
     400, "batch of 9 exceeds the server's limit of 8"),
    ("post", "/v1/models/dcgan:predict", '{"instances": [%s], "inputs": [%s]}' % (Z8, Z8), 400,
     "exactly one of 'instances'"),
    ("post", "/v1/models/dcgan:predict", '[1, 2]', 400, "must be a JSON object"),
    ("post", "/v1/models/dcgan:predict", '{"signature_name": "encode", "instances": [%s]}' % Z8,
     400, 'signature name: "encode" not found'),
    ("post", "/v1/models/nope:predict", '{"instances": [%s]}' % Z8, 404, "'nope'"),
    ("post", "/v1/models/dcgan/versions/7:predict", '{"instances": [%s]}' % Z8, 404,
     "Specific(dcgan, 7)"),
    ("post", "/v1/models/..%2F..%2Fetc/versions/1:predict", '{"instances": [%s]}' % Z8, 404, ""),
    ("post", "/v1/models/dcgan:classify", '{}', 400, "not supported"),
    ("get", "/v1/models/nope", None, 404, "Servable not found"),
    ("get", "/v1/models/dcgan/versions/x", None, 404, "Specific(dcgan, x)"),
])
def test_bad_requests_get_the_right_status(client, method, path, body, status, message):
    if method == "post":
        r = client.post(path, content=body, headers={"content-type": "application/json"})
    else:
        r = client.get(path)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]
    # ...and the server stays up.
    assert client.get("/v1/models/dcgan").status_code == 200


def test_framework_errors_keep_the_error_shape(client):
    r = client.put("/v1/models/dcgan:predict", json={})
    assert r.status_code == 405 and "error" in r.json() and r.headers["allow"] == "POST"
    # Wrong methods name the right one (RFC 9110), for our routes as for Starlette's.
    r = client.get("/v1/models/dcgan:predict")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    for path in ("/v1/models/dcgan", "/v1/models/dcgan/metadata", "/v1/models/dcgan:sample"):
        r = client.post(path, json={})
        assert r.status_code == 405 and r.headers["allow"] == "GET", path
        assert "POST needs ':predict'" in r.json()["error"]
    r = client.get("/v2/anything")
    assert r.status_code == 404 and r.json() == {"error": "Not Found"}


@pytest.mark.parametrize("path", ["/studio/a%00.js", "/studio/%00", "/studio/vendor%00/a.js",
                                  "/studio/index.html%00", "/studio/latents.js%00.js"])
def test_studio_paths_with_a_nul_byte_are_404(client, path):
    r = client.get(path)
    assert r.status_code == 404, (r.status_code, r.text)
    assert r.json()["error"].startswith("unknown studio file /studio/")

def test_access_log_and_prometheus_metrics(client, caplog):
    import logging

    body = {"instances": sample_latents(1, 8, 0).tolist()}
    with caplog.at_level(logging.INFO, logger="keras_genart.serving.access"):
        for _ in range(3):
            assert client.post("/v1/models/dcgan:predict", json=body).status_code == 200
        assert client.get("/v1/models/dcgan").status_code == 200
        assert client.post("/v1/models/nope:predict", json=body).status_code == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "keras_genart.serving.access"]
    assert len(lines) == 5
    assert '"POST /v1/models/dcgan:predict" 200' in lines[0] and lines[0].endswith("version=1")
    assert '"POST /v1/models/nope:predict" 404' in lines[-1]
    text = client.get("/monitoring/prometheus/metrics")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    samples = {}
    for line in text.text.splitlines():
        if not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    predict = 'model="dcgan",version="1",api="predict"'
    assert samples[f'genart_requests_total{{{predict},status="200"}}'] == 3
    assert samples['genart_requests_total{model="dcgan",version="1",api="status",'
                   'status="200"}'] == 1
    # A model that is not served counts under "unknown" (issue 28, item 3).
    assert samples['genart_requests_total{model="unknown",version="",api="predict",'
                   'status="404"}'] == 1
    buckets = [v for k, v in samples.items()
               if k.startswith(f"genart_request_latency_seconds_bucket{{{predict},")]
    assert buckets == sorted(buckets) and buckets[-1] == 3  # cumulative, +Inf = count
    assert samples[f"genart_request_latency_seconds_count{{{predict}}}"] == 3
    assert samples[f"genart_request_latency_seconds_sum{{{predict}}}"] > 0


def test_body_over_limit_is_413(client):
    r = client.post("/v1/models/dcgan:predict", content=b"[" + b"0," * 20_000 + b"0]",
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and "exceeds the limit of 20000 bytes" in r.json()["error"]


def test_new_version_is_picked_up_under_load(exported, tmp_path):
    from keras_genart.serving.server import create_app

    root = tmp_path / "models"
    shutil.copytree(exported["root"], root)
    server, thread, port = start_server(create_app(root))
    base = f"http://127.0.0.1:{port}/v1/models/dcgan"
    body = {"instances": sample_latents(1, 8, 0).tolist()}
    results, versions_seen = [], set()
    stop = threading.Event()

    def hammer():
        with httpx.Client(timeout=30) as c:
            while not stop.is_set():
                r = c.post(base + ":predict", json=body)
                results.append((r.status_code, r.headers.get("x-model-version")))

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    try:
        for w in workers:
            w.start()
        time.sleep(0.5)
        # Drop in version 2 the way the exporter does: complete folder, then rename.
        staging = root / "dcgan" / ".tmp-2"
        shutil.copytree(root / "dcgan" / "1", staging)
        meta = json.loads((staging / "metadata.json").read_text())
        meta["version"] = 2
        (staging / "metadata.json").write_text(json.dumps(meta))
        os.replace(staging, root / "dcgan" / "2")
        with httpx.Client() as c:  # version 2 loads in the background, then serves
            assert _eventually(lambda: _available(c.get(base))[:1] == ["2"])
            versions_seen.add(_available(c.get(base))[0])
            after = c.post(base + ":predict", json=body)
            time.sleep(0.3)
    finally:
        stop.set()
        for w in workers:
            w.join()
        server.should_exit = True
        thread.join(timeout=10)
    assert len(results) > 20
    assert {status for status, _ in results} == {200}
    served = [version for _, version in results]
    assert served[0] == "1" and served[-1] == "2"  # switched over while under load
    assert versions_seen == {"2"}
    assert after.status_code == 200 and after.headers["x-model-version"] == "2"


def test_a_slow_load_holds_up_no_other_version(exported, tmp_path):
    from keras_genart.serving.server import create_app

    root = tmp_path / "models"
    shutil.copytree(exported["root"], root)
    loading, release = threading.Event(), threading.Event()

    def load(path):  # versions 2 and 3 load until the test lets them finish
        if os.path.basename(path) in ("2", "3"):
            loading.set()
            assert release.wait(30)
        return Generator(path)

    server, thread, port = start_server(create_app(root, load=load, num_versions=2))
    base = f"http://127.0.0.1:{port}/v1/models/dcgan"
    body = {"instances": sample_latents(1, 8, 0).tolist()}
    slow = {}
    try:
        with httpx.Client(timeout=30) as c:
            assert c.post(base + ":predict", json=body).headers["x-model-version"] == "1"
            shutil.copytree(root / "dcgan" / "1", root / "dcgan" / "2")
            waiter = threading.Thread(target=lambda: slow.update(
                r=httpx.post(base + "/versions/2:predict", json=body, timeout=30)))
            waiter.start()
            assert loading.wait(10)
            # While version 2 loads, version 1 and "latest" answer at once, from version 1.
            for url in (base + "/versions/1:predict", base + ":predict"):
                r = c.post(url, json=body)
                assert r.status_code == 200 and r.headers["x-model-version"] == "1"
            for url in (base, base + "/metadata", base + ":sample?n=1"):
                assert c.get(url).status_code == 200
            assert c.get(base + "/versions/1").status_code == 200
            assert waiter.is_alive()  # the load really was in progress all along
            release.set()
            waiter.join(30)
            assert slow["r"].status_code == 200 and slow["r"].headers["x-model-version"] == "2"
            assert c.post(base + ":predict", json=body).headers["x-model-version"] == "2"
            # Graceful shutdown (what SIGTERM does): a request in flight still finishes.
            shutil.copytree(root / "dcgan" / "1", root / "dcgan" / "3")
            loading.clear()
            release.clear()
            waiter = threading.Thread(target=lambda: slow.update(
                r=httpx.post(base + "/versions/3:predict", json=body, timeout=30)))
            waiter.start()
            assert loading.wait(10)
            server.should_exit = True
            time.sleep(0.3)
            assert thread.is_alive()  # waiting for the request
            release.set()
            waiter.join(30)
            thread.join(30)
            assert slow["r"].status_code == 200 and not thread.is_alive()
    finally:
        release.set()
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                    reason="node and npm are not installed")
def test_node_example_matches_python(exported, node_app, tmp_path):
    app = node_app
    z = sample_latents(3, 8, seed=11)
    (tmp_path / "z.json").write_text(json.dumps({"z": z.tolist()}))
    run = subprocess.run(["node", "generate.js", exported["version_dir"], str(tmp_path / "z.json"),
                          str(tmp_path / "out.json")], cwd=app, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    images = np.array(out["images"], np.float32).reshape(out["shape"])
    assert images.shape == (3, 16, 16, 3)
    assert np.abs(images - exported["model"].generate_from_latents(z)).max() <= 1e-4


def test_genart_serve_command(exported):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "keras_genart.cli", "serve",
                             str(exported["root"]), "--port", str(port), "--versions", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        status = None
        while time.time() < deadline and status is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/v1/models/dcgan").json()
            except httpx.TransportError:
                time.sleep(0.1)
        assert status["model_version_status"][0]["state"] == "AVAILABLE"
        proc.terminate()  # SIGTERM: a graceful shutdown, exit status 0
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Traceback" not in err, err
        assert '"GET /v1/models/dcgan" 200' in out  # the access log
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    from keras_genart.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["serve", "d", "--versions", "3,5"]).versions == [3, 5]
    assert parser.parse_args(["serve", "d"]).num_versions is None  # 1 unless a config file
    for bad in (["--versions", "2,x"], ["--versions", "0"], ["--num-versions", "0"],
                ["--num-versions", "2", "--versions", "1"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["serve", "d", *bad])
    missing = subprocess.run([sys.executable, "-m", "keras_genart.cli", "serve", "/no/such/dir"],
                             capture_output=True, text=True)
    assert missing.returncode == 2
    assert "model folder '/no/such/dir' does not exist" in missing.stderr


def test_genart_serve_says_port_in_use_and_empty_folder_in_one_line(exported, tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        busy = subprocess.run([sys.executable, "-m", "keras_genart.cli", "serve",
                               str(exported["root"]), "--port", str(port)],
                              capture_output=True, text=True, timeout=120)
    assert busy.returncode == 2 and "Traceback" not in busy.stderr
    assert busy.stderr.strip().splitlines() == [
        f"genart serve: error: cannot listen on 127.0.0.1:{port}: Address already in use; "
        "pass another --port (or stop what uses it)"]
    assert "serving" not in busy.stdout
    proc = subprocess.Popen([sys.executable, "-m", "keras_genart.cli", "serve", str(tmp_path),
                             "--port", str(free_port())],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        warning = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert warning.startswith(f"warning: no exported model under {tmp_path} yet")


def test_broken_version_is_skipped_until_fixed(exported, tmp_path):
    from fastapi.testclient import TestClient

    from keras_genart.serving.server import create_app

    root = tmp_path / "models"
    shutil.copytree(exported["root"], root)
    good = (root / "dcgan" / "1" / "model.onnx").read_bytes()
    shutil.copytree(root / "dcgan" / "1", root / "dcgan" / "2")
    (root / "dcgan" / "2" / "model.onnx").write_bytes(good[: len(good) // 2])  # half-copied
    client = TestClient(create_app(root))
    status = client.get("/v1/models/dcgan").json()["model_version_status"]
    assert [(s["version"], s["state"]) for s in status] == [("2", "END"), ("1", "AVAILABLE")]
    assert status[0]["status"]["error_code"] == "UNKNOWN"
    assert "version 2 of 'dcgan' failed to load" in status[0]["status"]["error_message"]
    broken = client.get("/v1/models/dcgan/versions/2")
    assert broken.status_code == 404 and "version 2 of 'dcgan' failed to load" in broken.json()[
        "error"]
    (root / "dcgan" / "2" / "model.onnx").write_bytes(good)  # the copy completes
    # Version 2 now loads in the background; version 1 answers until it is ready.
    assert _eventually(lambda: _available(client.get("/v1/models/dcgan"))[:1] == ["2"])


def _available(status):
    """The AVAILABLE versions of a model status answer, newest first."""
    return [s["version"] for s in status.json()["model_version_status"]
            if s["state"] == "AVAILABLE"]


def _eventually(check, seconds=30):
    deadline = time.time() + seconds
    while not check():
        if time.time() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_version_policy_serves_the_latest_n_or_specific_ones(exported, tmp_path):
    from fastapi.testclient import TestClient

    from keras_genart.serving.server import create_app

    root = tmp_path / "models"
    shutil.copytree(exported["root"], root)
    client = TestClient(create_app(root))  # TF Serving's default: the latest version
    repo = client.app.state.repository
    body = {"instances": sample_latents(1, 8, 0).tolist()}
    assert client.post("/v1/models/dcgan:predict", json=body).status_code == 200
    held = repo.get("dcgan", 1)[1]  # a request still running on version 1
    for v in (2, 3):
        shutil.copytree(root / "dcgan" / "1", root / "dcgan" / str(v))
    assert _eventually(lambda: client.post("/v1/models/dcgan:predict", json=body).headers[
        "x-model-version"] == "3")
    # Once version 3 serves, the others are unloaded; the running request finishes.
    assert _eventually(lambda: client.get("/v1/models/dcgan").status_code == 200
                       and repo.loaded_versions("dcgan") == [3])
    assert held.run(sample_latents(1, 8, 0)).shape == (1, 16, 16, 3)
    old = client.post("/v1/models/dcgan/versions/2:predict", json=body)
    assert old.status_code == 404 and "version policy serves the latest: 3" in old.json()["error"]
    assert client.get("/v1/models/dcgan/versions/3/metadata").status_code == 200

    two = TestClient(create_app(root, num_versions=2))
    assert [two.get(f"/v1/models/dcgan/versions/{v}").status_code for v in (1, 2, 3)] == \
        [404, 200, 200]
    specific = TestClient(create_app(root, versions=[1, 3]))
    assert [specific.get(f"/v1/models/dcgan/versions/{v}").status_code for v in (1, 2, 3)] == \
        [200, 404, 200]
    assert "specific versions 1, 3" in specific.get("/v1/models/dcgan/versions/2").json()[
        "error"]
    paths = specific.get("/openapi.json").json()["paths"]  # it lists the served versions
    parameters = paths["/v1/models/dcgan/versions/{version}"]["get"]["parameters"]
    assert parameters[0]["schema"]["enum"] == ["1", "3"]
    with pytest.raises(ValueError, match="num_versions must be at least 1"):
        create_app(root, num_versions=0)


# --- the model config file -------------------------------------------------------

def test_model_config_file_is_parsed_with_clear_errors(tmp_path):
    from keras_genart.serving.config import ConfigError, parse_model_config, read_model_config

    shipped = read_model_config(os.path.join(os.path.dirname(__file__), "..", "serving",
                                             "models.config"), check_paths=False)
    assert shipped["dcgan"].num_versions == 2 and shipped["dcgan"].labels == {"stable": 1}
    assert shipped["vae"].specific == [1] and shipped["vae"].base_path == "/models/vae"
    relative = parse_model_config('model_config_list { config { name: "a" base_path: "m/a" '
                                  "model_version_policy { all {} } } }", "/srv")
    assert relative["a"].base_path == "/srv/m/a" and relative["a"].select([1, 2]) == [1, 2]
    for text, message in [
            ('model_config_list { config { name: "a" } }', "needs 'base_path'"),
            ("model_config_list { config { name: 'a' base_path: 'x'\n"
             "model_version_policy { latest { num_versions: 0 } } } }",
             "line 2: num_versions must be at least 1"),
            ('model_config_list { config { name: "a" base_path: "x" ', "ends inside"),
            ('model_config_list { config { name: "a" base_path: "x" color: 3 } }',
             "unknown field 'color' in config"),
            ('model_config_list { config { name: "a" base_path: "x" version_labels '
             '{ key: "s" value: "1" } } }', "'value' must be a number"),
            ('model_config_list { config { name: "a/b" base_path: "x" } }', "not allowed"),
            ("model_config_list { }", "configures no model"),
            ("model_config_list { config { name: $ } }", "cannot read")]:
        with pytest.raises(ConfigError, match=message):
            parse_model_config(text)
    with pytest.raises(ConfigError, match="cannot read model config file"):
        read_model_config(tmp_path / "missing.config")


def _write_config(path, models):
    blocks = []
    for name, base, policy, labels in models:
        labels = " ".join(f'version_labels {{ key: "{k}" value: {v} }}' for k, v in labels.items())
        blocks.append(f'config {{ name: "{name}" base_path: "{base}" model_platform: '
                      f'"tensorflow" model_version_policy {{ {policy} }} {labels} }}')
    text = "model_config_list {\n" + "\n".join(blocks) + "\n}\n"
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def test_model_config_file_serves_models_policies_and_labels(exported, tmp_path):
    from fastapi.testclient import TestClient

    from keras_genart.serving.server import create_app

    for version in (1, 2):
        shutil.copytree(exported["version_dir"], tmp_path / "a" / "art" / str(version))
    shutil.copytree(exported["version_dir"], tmp_path / "b" / "other" / "3")
    config = tmp_path / "models.config"
    _write_config(config, [("art", "a/art", "specific { versions: 1 versions: 2 }",
                            {"stable": 1, "canary": 2}),
                           ("other", str(tmp_path / "b" / "other"), "latest {}", {})])
    body = {"instances": sample_latents(1, 8, 0).tolist()}
    with TestClient(create_app(model_config_file=str(config), config_poll_seconds=0.05)) as c:
        assert c.get("/v1/models").json() == {"models": ["art", "other"]}
        for path, version in (("art/labels/stable", "1"), ("art/labels/canary", "2"),
                              ("art", "2"), ("art/versions/1", "1"), ("other", "3")):
            r = c.post(f"/v1/models/{path}:predict", json=body)
            assert r.status_code == 200 and r.headers["x-model-version"] == version, path
        assert c.get("/v1/models/art/labels/stable/metadata").json()["model_spec"][
            "version"] == "1"
        unknown = c.post("/v1/models/art/labels/nightly:predict", json=body)
        assert unknown.status_code == 404
        assert unknown.json() == {"error": "Servable not found for request: label 'nightly' of "
                                           "model 'art' is not defined (labels: canary, stable)"}
        assert c.get("/v1/models/dcgan").status_code == 404  # only what the file names
        paths = c.get("/openapi.json").json()["paths"]  # the labels are in the contract
        label = paths["/v1/models/art/labels/{label}:predict"]["post"]["parameters"][0]
        assert label["schema"]["enum"] == ["canary", "stable"]
        assert "/v1/models/other/labels/{label}" not in paths
        assert "/monitoring/prometheus/metrics" in paths
        # The file changes: labels move, a model goes; a broken file changes nothing.
        _write_config(config, [("art", "a/art", "specific { versions: 1 versions: 2 }",
                                {"stable": 2})])
        assert _eventually(lambda: c.post("/v1/models/art/labels/stable:predict",
                                          json=body).headers["x-model-version"] == "2")
        assert c.get("/v1/models/other").status_code == 404
        config.write_text("model_config_list { config {")
        time.sleep(0.3)
        assert c.post("/v1/models/art/labels/stable:predict", json=body).status_code == 200


def test_genart_serve_refuses_a_bad_model_config_file(tmp_path):
    bad = tmp_path / "models.config"
    bad.write_text('model_config_list { config { name: "a" } }')
    for argv, message in ((["--model-config-file", str(bad)], "needs 'base_path'"),
                          ([], "give the folder of exported models (DIR) or"),
                          ([str(tmp_path), "--model-config-file", str(bad)], "one of the two")):
        out = subprocess.run([sys.executable, "-m", "keras_genart.cli", "serve", *argv],
                             capture_output=True, text=True)
        assert out.returncode == 2 and message in out.stderr, out.stderr
        assert "Traceback" not in out.stderr


# --- issue 28: the work of one request is bounded --------------------------------------

def _redraw_without_cap(n, latent_dim, seed, psi):
    """The truncation redraws as they were before the floor and the cap: the reference
    that every allowed truncation must still match number for number."""
    from keras_genart.latents import truncation_threshold

    threshold = truncation_threshold(psi)
    z = np.random.default_rng(seed).standard_normal((n, latent_dim))
    redraw = np.random.default_rng([seed, 1])
    for row in z:
        beyond = np.abs(row) > threshold
        while beyond.any():
            row[beyond] = redraw.standard_normal(int(beyond.sum()))
            beyond = np.abs(row) > threshold
    return z.astype(np.float32)


def test_truncation_has_a_floor_and_the_same_latents_above_it():
    from keras_genart import latents

    for psi in (latents.MIN_TRUNCATION, 0.05, 0.3, 0.7, 0.99):
        for seed in (0, 7, 2 ** 40 + 3):
            np.testing.assert_array_equal(latents.sample_truncated_latents(4, 128, seed, psi),
                                          _redraw_without_cap(4, 128, seed, psi))
    assert latents.MIN_TRUNCATION == 0.05  # the studio's slider stops there too
    for bad in (0.049, 1e-4, 1e-9, 5e-324, 0, 1.01, "nan"):
        with pytest.raises(ValueError, match=r"truncation must be in \[0.05, 1\]"):
            latents.check_truncation(bad)
    # The largest request the server takes (64 latents of 512 at the floor) is quick.
    start = time.perf_counter()
    latents.sample_truncated_latents(64, 512, 0, latents.MIN_TRUNCATION)
    assert time.perf_counter() - start < 2


def test_truncation_redraws_stop_after_a_bounded_number_of_rounds(monkeypatch):
    from keras_genart import latents

    rounds = []
    real = np.random.default_rng

    class Counted:  # a generator that counts its draws
        def __init__(self, seed):
            self.rng = real(seed)

        def standard_normal(self, *args):
            rounds.append(1)
            return self.rng.standard_normal(*args)

    # With the cap at 3 rounds a row, values still beyond are clipped to the threshold
    # (the recipe says so): 1 draw of the seed + at most 3 redraws per row, where the
    # floor needs ~130 rounds for a row of 512.
    monkeypatch.setattr(latents, "MAX_REDRAW_ROUNDS", 3)
    monkeypatch.setattr(np.random, "default_rng", Counted)
    z = latents.sample_truncated_latents(5, 512, 0, 0.05)
    assert len(rounds) <= 1 + 5 * 3
    threshold = latents.truncation_threshold(0.05)
    assert np.abs(z).max() <= np.float32(threshold)
    assert "at most" in latents.TRUNCATION_RECIPE and "rounds" in latents.TRUNCATION_RECIPE


def test_sample_refuses_truncation_below_the_floor_at_once(client):
    for psi in ("1e-4", "1e-9", "0.04"):
        start = time.perf_counter()
        r = client.get(f"/v1/models/dcgan:sample?n=64&truncation={psi}")
        assert r.status_code == 400 and time.perf_counter() - start < 5, r.text
        assert "truncation must be in [0.05, 1]" in r.json()["error"], r.text
    assert client.get("/v1/models/dcgan:sample?n=8&truncation=0.05").status_code == 200
    sample = client.get("/openapi.json").json()["paths"]["/v1/models/dcgan:sample"]["get"]
    params = {p["name"]: p["schema"] for p in sample["parameters"]}
    assert params["truncation"]["minimum"] == 0.05 and params["truncation"]["maximum"] == 1
    assert "exclusiveMinimum" not in params["truncation"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_truncation_has_the_same_floor_and_cap(tmp_path):
    from keras_genart import latents

    script = tmp_path / "floor.js"
    script.write_text(
        "const latents = require(process.argv[2]);\n"
        "const out = {maxRounds: latents.MAX_REDRAW_ROUNDS, floor: latents.MIN_TRUNCATION,\n"
        "             z: Array.from(latents.sampleTruncatedLatents(3, 64, 5, 0.05))};\n"
        "for (const psi of [0.049, 1e-9]) {\n"
        "  try { latents.sampleTruncatedLatents(1, 4, 0, psi); out[psi] = 'taken'; }\n"
        "  catch (e) { out[psi] = e.message; }\n"
        "}\n"
        "console.log(JSON.stringify(out));\n")
    run = subprocess.run(["node", str(script), os.path.join(
        os.path.dirname(os.path.dirname(__file__)), "serving", "node", "latents.js")],
        capture_output=True, text=True, timeout=60, check=True)
    out = json.loads(run.stdout)
    assert out["maxRounds"] == latents.MAX_REDRAW_ROUNDS
    assert out["floor"] == latents.MIN_TRUNCATION
    np.testing.assert_array_equal(np.float32(out["z"]),
                                  latents.sample_truncated_latents(3, 64, 5, 0.05).ravel())
    for psi in ("0.049", "1e-9"):
        assert out[psi].startswith("truncation must be in [0.05, 1]"), out[psi]


_STUCK_SERVER = """
import sys, time
from keras_genart.serving import Generator
from keras_genart.serving.server import serve

class Stuck(Generator):  # a request whose work never ends (as truncation 1e-9 did)
    def run(self, z, label=None):
        print("stuck", file=sys.stderr, flush=True)
        time.sleep(3600)

serve(sys.argv[1], port=int(sys.argv[2]), shutdown_timeout=float(sys.argv[3]), load=Stuck)
"""


def test_sigterm_ends_the_server_within_its_shutdown_timeout(exported, tmp_path):
    import signal

    port, timeout = free_port(), 2
    (tmp_path / "stuck.py").write_text(_STUCK_SERVER)
    proc = subprocess.Popen([sys.executable, str(tmp_path / "stuck.py"), str(exported["root"]),
                             str(port), str(timeout)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/v1/models/dcgan"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                assert httpx.get(base).status_code == 200
                break
            except httpx.TransportError:
                time.sleep(0.1)
        body = {"instances": sample_latents(1, 8, 0).tolist()}
        cut = []

        def stuck_request():
            try:
                httpx.post(base + ":predict", json=body, timeout=120)
            except httpx.TransportError:  # the server went away without an answer
                cut.append(1)

        threads = [threading.Thread(target=stuck_request, daemon=True)
                   for _ in range(3)]  # three requests in flight, stuck in worker threads
        for thread in threads:
            thread.start()
        assert proc.stderr.readline().strip() == "stuck"
        time.sleep(0.5)
        start = time.time()
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=timeout + 20)
        except subprocess.TimeoutExpired:
            pytest.fail("the server was still running 22 s after SIGTERM")
        took = time.time() - start
        assert took <= timeout + 3, took
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        assert "abandoned 3 request(s) still running" in out + err, (out, err)
        for thread in threads:
            thread.join(10)
        assert len(cut) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_a_slow_body_gets_408_and_frees_its_connection(exported):
    from keras_genart.serving.server import create_app

    server, thread, port = start_server(create_app(exported["root"], body_seconds=1))
    try:
        start = time.time()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /v1/models/dcgan:predict HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                         b'{"instances": ')  # ...and the rest never comes
            chunks = []  # the answer may come in several segments; the server closes after
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            answer = b"".join(chunks).decode("latin-1")
        assert time.time() - start < 5
        assert answer.startswith("HTTP/1.1 408"), answer[:200]
        assert "request body not received within 1 s" in answer, answer
        body = {"instances": sample_latents(1, 8, 0).tolist()}
        r = httpx.post(f"http://127.0.0.1:{port}/v1/models/dcgan:predict", json=body)
        assert r.status_code == 200  # a body sent at once is not held to the clock's edge
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_openapi_document_states_every_request_bound(exported):
    from fastapi.testclient import TestClient

    from keras_genart.serving.requests import MAX_JSON_DEPTH
    from keras_genart.serving.server import create_app

    client = TestClient(create_app(exported["root"], max_batch=5, max_body_bytes=12_345,
                                   max_sample=7, body_seconds=9))
    doc = client.get("/openapi.json").json()
    assert doc["info"]["x-limits"] == {
        "max_batch": 5, "max_body_bytes": 12_345, "max_sample": 7, "body_seconds": 9,
        "max_json_depth": MAX_JSON_DEPTH, "min_truncation": 0.05, "max_truncation": 1}
    for words in ("12345 bytes", f"{MAX_JSON_DEPTH} levels", "9 s", "5 latents",
                  "7 pictures", "[0.05, 1]"):
        assert words in doc["info"]["description"], words
    predict = doc["paths"]["/v1/models/dcgan:predict"]["post"]
    assert {"400", "404", "408", "413"} <= set(predict["responses"])
    sample = doc["paths"]["/v1/models/dcgan:sample"]["get"]
    params = {p["name"]: p["schema"] for p in sample["parameters"]}
    assert params["n"]["maximum"] == 7 and params["n"]["minimum"] == 1
    assert params["seed"] == {"type": "integer", "minimum": 0, "maximum": 2 ** 63 - 1,
                              "default": 0}


def _series(client):
    """`{series: value}` of a Prometheus scrape."""
    text = client.get("/monitoring/prometheus/metrics").text
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line and not line.startswith("#")}


def test_prometheus_series_stay_bounded_under_made_up_model_names(client):
    from urllib.parse import quote

    body = {"instances": sample_latents(1, 8, 0).tolist()}
    assert client.post("/v1/models/dcgan:predict", json=body).status_code == 200
    before = _series(client)
    for i in range(1000):  # each name once, through every API
        name = f"made-up-{i}" if i % 2 else quote(f"{i}\"\\\n{'x' * 300}")
        path = f"/v1/models/{name}" + ("", "/metadata", ":sample?n=1", ":predict")[i % 4]
        r = client.post(path, json=body) if path.endswith(":predict") else client.get(path)
        assert r.status_code == 404
    series = _series(client)
    # An "unknown" counter and histogram per API, and those of the scrape itself.
    assert len(series) <= len(before) + 5 * 17
    assert not any("made-up" in key or "xxx" in key for key in series)
    unknown = sum(v for k, v in series.items() if k.startswith("genart_requests_total{")
                  and 'model="unknown",version=""' in k and 'status="404"' in k)
    assert unknown == 1000
    assert series['genart_requests_total{model="dcgan",version="1",api="predict",'
                  'status="200"}'] == 1


def test_prometheus_drops_the_series_of_unloaded_versions_and_models(exported, tmp_path):
    from fastapi.testclient import TestClient

    from keras_genart.serving.server import create_app

    for name in ("a", "b"):
        shutil.copytree(exported["root"] / "dcgan", tmp_path / name)
    config = tmp_path / "models.config"
    _write_config(config, [(name, str(tmp_path / name), "latest { num_versions: 1 }", {})
                           for name in ("a", "b")])
    body = {"instances": sample_latents(1, 8, 0).tolist()}
    with TestClient(create_app(model_config_file=str(config), config_poll_seconds=0.05)) as c:
        for name in ("a", "b"):
            assert c.post(f"/v1/models/{name}:predict", json=body).status_code == 200
        assert {'model="a",version="1"', 'model="b",version="1"'} <= {
            k.split("{")[1].split(",api")[0] for k in _series(c)}
        shutil.copytree(tmp_path / "a" / "1", tmp_path / "a" / "2")  # a/1 is unloaded
        assert _eventually(lambda: c.post("/v1/models/a:predict", json=body).headers[
            "x-model-version"] == "2" and c.app.state.repository.loaded_versions("a") == [2])
        _write_config(config, [("a", str(tmp_path / "a"), "latest { num_versions: 1 }", {})])
        assert _eventually(lambda: c.get("/v1/models/b").status_code == 404)  # b is gone
        series = _series(c)
        assert any('model="a",version="2"' in k for k in series)
        assert not any('model="a",version="1"' in k or 'model="b"' in k for k in series), [
            k for k in series if 'model="b"' in k or 'version="1"' in k]


def test_a_client_gone_before_its_body_ends_is_no_server_error(exported, caplog):
    import logging

    from keras_genart.serving.server import create_app

    app = create_app(exported["root"])
    server, thread, port = start_server(app)
    try:
        body = {"instances": sample_latents(1, 8, 0).tolist()}
        assert httpx.post(f"http://127.0.0.1:{port}/v1/models/dcgan:predict",
                          json=body).status_code == 200
        with caplog.at_level(logging.INFO, logger="keras_genart.serving"):
            for _ in range(3):
                with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                    sock.sendall(b"POST /v1/models/dcgan:predict HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Length: 1000\r\n\r\n[[0, 0")
                    time.sleep(0.2)
            assert _eventually(lambda: app.state.metrics.in_flight == 0, 10)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
        assert "500" not in app.state.metrics.text().split("status=")[-1]
        counts = [line for line in app.state.metrics.text().splitlines()
                  if line.startswith("genart_requests_total") and 'api="predict"' in line]
        assert counts == ['genart_requests_total{model="dcgan",version="",api="predict",'
                          'status="400"} 3', 'genart_requests_total{model="dcgan",version="1",'
                          'api="predict",status="200"} 1'], counts
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_generator_loads_the_bytes_it_hashed(exported, tmp_path, monkeypatch):
    # A `--force` export swaps model.onnx between the runtime's hash and its load (issue 28,
    # item 7): the session must run the bytes that were checked, never the swapped file.
    import hashlib

    import onnxruntime

    onnx = pytest.importorskip("onnx")
    version = tmp_path / "1"
    shutil.copytree(exported["version_dir"], version)
    expected = json.loads((version / "metadata.json").read_text())["sha256"]["model.onnx"]
    other = onnx.load(str(version / "model.onnx"))  # another model: one weight doubled
    weight = next(w for w in other.graph.initializer if w.data_type == onnx.TensorProto.FLOAT)
    weight.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(weight) * 2,
                                                 weight.name))
    real, loaded = onnxruntime.InferenceSession, []

    def swapped_before_the_load(model, *args, **kwargs):
        (version / "model.onnx").write_bytes(other.SerializeToString())
        session = real(model, *args, **kwargs)
        loaded.append(model if isinstance(model, bytes) else open(model, "rb").read())
        return session

    monkeypatch.setattr(onnxruntime, "InferenceSession", swapped_before_the_load)
    gen = Generator(version)
    assert [hashlib.sha256(model).hexdigest() for model in loaded] == [expected]
    monkeypatch.setattr(onnxruntime, "InferenceSession", real)
    z = sample_latents(2, 8, 0)
    np.testing.assert_array_equal(gen.run(z), Generator(exported["version_dir"]).run(z))
    # The swap before the hash: the new bytes do not match the metadata read before them.
    with pytest.raises(ValueError, match="does not match the sha256"):
        Generator(version)


def test_generator_runs_onnxruntime_one_batch_at_a_time(exported):
    # All the latents in one onnxruntime run needed tens of GB for `genart evaluate --n 5000`
    # at 128 px (issue 28, item 15): batch by batch, the same pictures.
    gen = Generator(exported["version_dir"], batch_size=4)
    session, feeds = gen.session, []

    class Recording:
        def run(self, outputs, feed):
            feeds.append(len(feed["z"]))
            return session.run(outputs, feed)

    z = sample_latents(10, 8, 5)
    gen.session = Recording()
    np.testing.assert_array_equal(gen.run(z), Generator(exported["version_dir"]).run(z))
    assert feeds == [4, 4, 2]
    assert Generator(exported["version_dir"]).batch_size == 256


def test_a_model_path_with_a_trailing_newline_is_no_route():
    # `$` matched before a trailing newline: "dcgan:predict\n" was read as :predict.
    from keras_genart.serving.requests import MODEL_PATH

    assert MODEL_PATH.match("dcgan:predict").group("verb") == "predict"
    assert MODEL_PATH.match("dcgan:predict\n") is None
    assert MODEL_PATH.match("dcgan/versions/2/metadata\n") is None


def test_a_version_s_files_are_those_of_the_model_that_answers(client, exported, monkeypatch):
    # A `--force` export replacing the files on disk after the version loaded must not make
    # the files endpoint hand out another model's bytes with this version's number.
    import keras_genart.serving.app as app_module

    with open(os.path.join(exported["version_dir"], "model.onnx"), "rb") as f:
        on_disk = f.read()
    r = client.get("/v1/models/dcgan/files/model.onnx")
    assert r.status_code == 200 and r.content == on_disk
    meta = client.get("/v1/models/dcgan/files/metadata.json")
    assert meta.json()["sha256"]["model.onnx"] == exported["metadata"]["sha256"]["model.onnx"]
    monkeypatch.setattr(app_module, "open", lambda *a, **k: io.BytesIO(b"another model"),
                        raising=False)
    r = client.get("/v1/models/dcgan/files/model.onnx")
    assert r.status_code == 503 and "being replaced" in r.json()["error"]
    assert r.headers["Retry-After"] == "1"
