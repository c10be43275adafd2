"""Hostile requests never get a 5xx: property-based tests of the REST API, in-process.

Hypothesis generates bodies (random JSON shapes and types, huge and
non-finite numbers, deep nesting, random bytes), paths, methods, headers and
query strings. The property: every answer is 2xx/4xx, errors have TF
Serving's `{"error": "..."}` shape, and afterwards a valid request still
answers the same pixels. Examples are derandomized (the same in every run) and
bounded so that the suite stays fast.
"""

import functools
import json
import re
from urllib.parse import quote

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

pytestmark = pytest.mark.skipif(
    __import__("os").environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
    reason="the export fixture needs TensorFlow's backend")

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

numbers = st.one_of(
    st.integers(), st.integers(min_value=-(10 ** 400), max_value=10 ** 400),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none())
json_values = st.recursive(
    st.one_of(numbers, st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=10),
                            st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=60)
# Shapes close to a real request, so the fuzzing reaches past the first checks.
latents = st.one_of(
    st.lists(st.lists(numbers, min_size=0, max_size=10), max_size=10),
    st.lists(st.fixed_dictionaries({"z": st.lists(numbers, max_size=10)}), max_size=4),
    st.fixed_dictionaries({"z": st.lists(st.lists(numbers, max_size=9), max_size=3)}),
    json_values)
near_valid = st.builds(
    lambda key, value, extra: {key: value, **extra},
    st.sampled_from(["instances", "inputs"]), latents,
    st.fixed_dictionaries({}, optional={
        "signature_name": st.one_of(st.sampled_from(["serving_default", "render", ""]),
                                    json_values),
        "instances": json_values}))


def _dumps(value):
    return json.dumps(value, allow_nan=True).encode()


bodies = st.one_of(
    near_valid.map(_dumps),
    json_values.map(_dumps),
    st.binary(max_size=300),
    st.integers(1, 20_000).map(lambda n: b"[" * n),
    st.integers(1, 20_000).map(lambda n: b'{"instances": ' + b"[" * n + b"]" * n + b"}"),
    st.integers(1, 3_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.text(max_size=200).map(str.encode),
)
segments = st.one_of(
    st.sampled_from(["dcgan", "nope", "..", ".", "%2e%2e", "versions", "1", "0", "99",
                     "metadata", "²", "9" * 5000, "dcgan:predict", "dcgan:sample",
                     "dcgan:classify", ""]),
    # Percent-encoded as a client sends them: control characters, %, /, unicode.
    st.text(max_size=12).map(lambda t: quote(t, safe=":")))
paths = st.tuples(
    st.sampled_from(["/v1/models/", "/v1/models", "/", "/v2/", "/v1/models/dcgan/versions/"]),
    st.lists(segments, max_size=4).map("/".join),
    st.sampled_from(["", ":predict", ":sample", ":classify", ":regress", ":", "/metadata",
                     ":PREDICT"]),
).map("".join)
queries = st.dictionaries(st.sampled_from(["seed", "n", "x", ""]),
                          st.one_of(st.integers().map(str), st.text(max_size=8),
                                    st.just("9" * 5000)), max_size=3)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
content_types = st.sampled_from(["application/json", "text/plain", "application/x-www-form-"
                                 "urlencoded", "multipart/form-data", "", "application/json; "
                                 "charset=latin-1"])


@pytest.fixture(scope="module")
def fuzz_client(exported):
    from fastapi.testclient import TestClient

    from keras_genart.serving.server import create_app

    # raise_server_exceptions=False: a crash shows as the 500 a client would get.
    client = TestClient(create_app(exported["root"], max_batch=8, max_body_bytes=100_000),
                        raise_server_exceptions=False)
    z = np.random.default_rng(0).standard_normal((2, exported["model"].latent_dim))
    valid = {"instances": z.round(6).tolist()}
    before = client.post("/v1/models/dcgan:predict", json=valid)
    assert before.status_code == 200
    yield client
    # A valid request still answers the same pixels after all the fuzzing.
    after = client.post("/v1/models/dcgan:predict", json=valid)
    assert after.status_code == 200 and after.json() == before.json()


def _check(response, method):
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400 and method != "HEAD":
        payload = response.json()
        assert set(payload) == {"error"} and isinstance(payload["error"], str), payload


@FUZZ
@given(body=bodies, version=st.sampled_from(["", "/versions/1", "/versions/2"]),
       content_type=content_types)
def test_no_predict_body_gets_a_5xx(fuzz_client, body, version, content_type):
    response = fuzz_client.post(f"/v1/models/dcgan{version}:predict", content=body,
                                headers={"content-type": content_type})
    _check(response, "POST")


@FUZZ
@given(method=methods, path=paths, query=queries, body=st.one_of(st.none(), bodies))
def test_no_path_method_or_query_gets_a_5xx(fuzz_client, method, path, query, body):
    import httpx

    try:
        response = fuzz_client.request(method, path, params=query, content=body)
    except httpx.InvalidURL:  # the client cannot send it (say, "//x:y" reads as a host)
        hypothesis.reject()
    _check(response, method)


@FUZZ
@given(headers=st.dictionaries(
    st.sampled_from(["content-length", "content-type", "accept", "x-anything",
                     "transfer-encoding", "content-encoding"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
    max_size=3))
def test_no_header_gets_a_5xx(fuzz_client, headers):
    try:
        response = fuzz_client.post("/v1/models/dcgan:predict",
                                    content=b'{"instances": [[0, 0, 0, 0, 0, 0, 0, 0]]}',
                                    headers=headers)
    except Exception as e:  # the client itself refuses some headers (h11 would too)
        pytest.skip(f"client refused the headers: {e}")
    _check(response, "POST")


def test_deep_nesting_is_400_not_500(fuzz_client):
    for body in (b"[" * 5000, b"[" * 5000 + b"]" * 5000,
                 b'{"instances": ' + b"[" * 5000 + b"]" * 5000 + b"}"):
        for path in ("/v1/models/dcgan:predict", "/v1/models/dcgan/versions/1:predict"):
            response = fuzz_client.post(path, content=body)
            assert response.status_code == 400
            assert re.search(r"nests JSON 500[01] levels deep; the limit is 32",
                             response.json()["error"])
    # Four levels is what a valid request needs; it still works.
    response = fuzz_client.post("/v1/models/dcgan:predict",
                                json={"instances": [{"z": [0.0] * 8}]})
    assert response.status_code == 200


def test_odd_digits_in_versions_are_404(fuzz_client):
    for version in ("²", "٣", "9" * 5000, "1 ", "+1"):
        response = fuzz_client.get(f"/v1/models/dcgan/versions/{version}")
        assert response.status_code == 404, (version, response.text)


def test_openapi_document_describes_the_real_contract(fuzz_client, exported):
    jsonschema = pytest.importorskip("jsonschema")
    doc = fuzz_client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {"/v1/models", "/v1/models/dcgan", "/v1/models/dcgan/metadata",
            "/v1/models/dcgan:predict", "/v1/models/dcgan:sample",
            "/v1/models/dcgan/versions/{version}:predict"} <= set(doc["paths"])
    predict = doc["paths"]["/v1/models/dcgan:predict"]["post"]
    request = predict["requestBody"]["content"]["application/json"]["schema"]
    response = predict["responses"]["200"]["content"]["application/json"]["schema"]
    error = doc["components"]["schemas"]["Error"]
    latent_dim = exported["model"].latent_dim
    good = {"instances": [[0.5] * latent_dim]}
    for body in (good, {"inputs": {"z": [[0.5] * latent_dim]}},
                 {"signature_name": "render", "instances": [{"z": [0.0] * latent_dim}]}):
        jsonschema.validate(body, request)
        answer = fuzz_client.post("/v1/models/dcgan:predict", json=body)
        assert answer.status_code == 200
        jsonschema.validate(answer.json(), response)
    for body in ({"instances": [[0.5] * (latent_dim + 1)]}, {"instances": []},
                 {"instances": [[0.5] * latent_dim], "inputs": [[0.5] * latent_dim]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(body, request)
        answer = fuzz_client.post("/v1/models/dcgan:predict", json=body)
        assert answer.status_code == 400
        jsonschema.validate(answer.json(), error)
    versions = doc["paths"]["/v1/models/dcgan/versions/{version}:predict"]["post"]["parameters"]
    assert versions[0]["schema"]["enum"] == ["1"]


# --- every query parameter of every route, for every kind of model; studio paths ----------
# Few examples each: these cover more routes, not more bodies.
QUICK = settings(FUZZ, max_examples=30)
CLASSES = ["a", "b", "c"]
MAX_SAMPLE = 16
KINDS = ("unconditional", "latent-coded", "conditional")


@pytest.fixture(scope="module")
def kind_clients(exported, tmp_path_factory):
    """`{kind: TestClient}` of a model named dcgan of each kind, classes "a", "b", "c": the
    unconditional export; a latent-coded copy of it (its metadata names the classes, as
    tests/test_serving.py's coded_client); a tiny conditional DCGAN, exported."""
    import shutil

    from fastapi.testclient import TestClient

    from keras_genart.export import export_model
    from keras_genart.models import build_model
    from keras_genart.serving.server import create_app

    base = tmp_path_factory.mktemp("kinds")
    coded = base / "coded"
    shutil.copytree(exported["root"], coded)
    meta_file = coded / "dcgan" / "1" / "metadata.json"
    meta = json.loads(meta_file.read_text())
    meta["latent_classes"] = {"class_names": CLASSES, "shares": [0.5, 0.25, 0.25]}
    meta_file.write_text(json.dumps(meta))
    model = build_model("dcgan", image_size=16, latent_dim=8, base_width=8, seed=0,
                        class_names=CLASSES)
    model.compile()
    export_model(model, base / "conditional", name="dcgan", log=lambda *_: None)
    roots = {"unconditional": exported["root"], "latent-coded": coded,
             "conditional": base / "conditional"}
    return {kind: TestClient(create_app(root, max_batch=8, max_body_bytes=100_000,
                                        max_sample=MAX_SAMPLE),
                             raise_server_exceptions=False)
            for kind, root in roots.items()}


odd_text = st.sampled_from(["", " 1", "1 ", "+1", "-0", "-1", "1_0", "１", "²", "٣", "0x10",
                            "1e3", "1.0", "nan", "inf", "-inf", "9" * 5000, "0.05", "0.0499",
                            "1e-9", "5e-324", "1.0000001", "%00", "\0", "a", "A", "b "])
int_text = st.one_of(st.integers(-2 ** 70, 2 ** 70).map(str),
                     st.integers(-2, MAX_SAMPLE + 2).map(str), odd_text, st.text(max_size=6))
float_text = st.one_of(st.floats(-2, 2).map(repr), st.floats().map(repr),
                       st.sampled_from(["0.05", "1", "0.7", "0.5", "1e-4"]), odd_text,
                       st.text(max_size=6))
class_text = st.one_of(st.sampled_from(CLASSES), st.integers(-2, 5).map(str), odd_text,
                       st.text(max_size=6))
sample_queries = st.fixed_dictionaries({}, optional={
    "seed": int_text, "n": int_text, "truncation": float_text, "class": class_text,
    "extra": st.text(max_size=6)})
_ASCII_INT = re.compile(r"[0-9]{1,19}")
_PLAIN_FLOAT = re.compile(r"[0-9]+(\.[0-9]+)?")


def _strictly_valid(query, kind):
    """Which parameters of a `:sample` query are within the documented bounds, in the
    plainest spelling: `{name: bool}` for those given."""
    def ascii_int(text, low, high):
        return bool(_ASCII_INT.fullmatch(text)) and low <= int(text) <= high

    valid = {}
    if "seed" in query:
        valid["seed"] = ascii_int(query["seed"], 0, 2 ** 63 - 1)
    if "n" in query:
        valid["n"] = ascii_int(query["n"], 1, MAX_SAMPLE)
    if "truncation" in query:
        text = query["truncation"]
        valid["truncation"] = bool(_PLAIN_FLOAT.fullmatch(text)) and 0.05 <= float(text) <= 1
    if "class" in query:
        text = query["class"]
        valid["class"] = kind != "unconditional" and (
            text in CLASSES or (bool(_ASCII_INT.fullmatch(text)) and int(text) < len(CLASSES)))
    return valid


@pytest.mark.parametrize("kind", KINDS)
@QUICK
@given(query=sample_queries)
def test_every_sample_parameter_is_bounded_and_named_when_refused(kind_clients, kind, query):
    import time

    from PIL import Image

    client = kind_clients[kind]
    start = time.perf_counter()
    response = client.get("/v1/models/dcgan:sample", params=query)
    assert time.perf_counter() - start < 10  # the work of any one request is bounded
    _check(response, "GET")
    valid = _strictly_valid(query, kind)
    if all(valid.values()):
        assert response.status_code == 200, (query, response.text[:300])
    if response.status_code != 200:
        assert response.status_code == 400, (query, response.text[:300])
        error = response.json()["error"]
        named = {"seed": "seed", "n": "n", "truncation": "truncation", "class": "class"}
        wrong = [name for name, ok in valid.items() if not ok]
        assert any(named[name] in error or (name == "class" and "label" in error)
                   for name in wrong), (query, error)
        return
    # Whatever was taken is within the bounds, as the picture's provenance shows.
    import io

    text = Image.open(io.BytesIO(response.content)).text
    assert 1 <= int(text["keras_genart.n"]) <= MAX_SAMPLE
    assert 0 <= int(text["keras_genart.seed"]) < 2 ** 63
    if "truncation" in query:
        assert 0.05 <= float(text["keras_genart.truncation"].split(" (")[0]) <= 1
    if "class" in query:
        assert text["keras_genart.class"] in CLASSES


def _predict_bodies(kind):
    labels = st.one_of(st.sampled_from(CLASSES), st.integers(-2, 5), json_values)
    if kind != "conditional":
        return bodies
    rows = st.lists(st.fixed_dictionaries({"z": st.lists(numbers, min_size=8, max_size=8),
                                           "label": labels}), max_size=4)
    columns = st.fixed_dictionaries({"z": st.lists(st.lists(numbers, min_size=8, max_size=8),
                                                   max_size=3),
                                     "label": st.one_of(st.lists(labels, max_size=3), labels)})
    return st.one_of(
        st.builds(lambda r: {"instances": r}, rows).map(_dumps),
        st.builds(lambda c: {"inputs": c}, columns).map(_dumps), bodies)


@pytest.mark.parametrize("kind", KINDS)
@settings(QUICK, max_examples=40)
@given(data=st.data())
def test_no_predict_body_gets_a_5xx_for_any_kind_of_model(kind_clients, kind, data):
    body = data.draw(_predict_bodies(kind))
    path = data.draw(st.sampled_from(["/v1/models/dcgan:predict",
                                      "/v1/models/dcgan/versions/1:predict"]))
    response = kind_clients[kind].post(path, content=body,
                                       headers={"content-type": "application/json"})
    _check(response, "POST")
    if response.status_code == 200:
        z = json.loads(body)
        assert response.headers["x-model-version"] == "1"
        values = response.json()
        assert set(values) <= {"predictions", "outputs"} and values, z


def test_valid_conditional_and_coded_requests_are_taken(kind_clients):
    z = np.random.default_rng(0).standard_normal((2, 8)).round(6).tolist()
    conditional = kind_clients["conditional"]
    for body in ({"instances": [{"z": z[0], "label": "b"}, {"z": z[1], "label": 2}]},
                 {"inputs": {"z": z, "label": ["a", 0]}}):
        assert conditional.post("/v1/models/dcgan:predict", json=body).status_code == 200
    for kind in ("conditional", "latent-coded"):
        for query in ("class=b", "class=2", "n=16&truncation=0.05&class=a&seed=9"):
            r = kind_clients[kind].get(f"/v1/models/dcgan:sample?{query}")
            assert r.status_code == 200, (kind, query, r.text)


# Routes that take no query parameters: any query leaves their answer as it is.
_PLAIN_ROUTES = ("/v1/models", "/v1/models/dcgan", "/v1/models/dcgan/versions/1",
                 "/v1/models/dcgan/metadata", "/v1/models/dcgan/files/metadata.json",
                 "/v1/models/dcgan/files/model.onnx", "/v1/models/nope",
                 "/v1/models/dcgan/labels/stable", "/studio/models.json", "/openapi.json",
                 "/studio/index.html", "/studio/nope.js", "/monitoring/prometheus/metrics")


@pytest.mark.parametrize("kind", KINDS)
@QUICK
@given(route=st.sampled_from(_PLAIN_ROUTES),
       query=st.dictionaries(st.one_of(st.sampled_from(["seed", "n", "class", "truncation",
                                                        "version", "file", "path"]),
                                       st.text(max_size=5)),
                             st.one_of(odd_text, st.text(max_size=8)), max_size=3))
def test_routes_without_query_parameters_ignore_any_query(kind_clients, kind, route, query):
    client = kind_clients[kind]
    plain = client.get(route)
    response = client.get(route, params=query)
    _check(response, "GET")
    assert response.status_code == plain.status_code, (route, query, response.text[:200])


path_parts = st.one_of(
    st.sampled_from(["..", ".", "", "%2e%2e", "%2E%2E%2F", "%00", "%5c", "\\", "~", ".git",
                     "vendor", "index.html", "studio.js", "worker.js", "latents.js", "png.js",
                     "etc", "passwd", "a.js", "a.wasm", "x" * 300, "é.js", "%C3%A9.js",
                     "..%2F..%2Fsetup.cfg", "app.py"]),
    st.text(max_size=10).map(lambda t: quote(t, safe="")))
studio_paths = st.lists(path_parts, min_size=1, max_size=4).map("/".join)


@functools.lru_cache(maxsize=1)
def _studio_files():
    """Every file the studio route may answer with: its bytes, by content."""
    import os

    from keras_genart.serving import app, studio_assets

    files = [os.path.join(root, name) for root, _, names in os.walk(app.STUDIO_DIR)
             for name in names]
    files += list(app._STUDIO_SHARED.values())
    files += [f for f in map(studio_assets.asset_file, studio_assets.ASSET_FILES) if f]
    return {open(f, "rb").read() for f in files}


@QUICK
@given(path=studio_paths)
def test_studio_paths_answer_studio_files_or_404(kind_clients, path):
    response = kind_clients["unconditional"].get(f"/studio/{path}")
    _check(response, "GET")
    assert response.status_code in (200, 404, 503), (path, response.status_code)
    if response.status_code == 200:
        assert response.content in _studio_files(), path


@pytest.mark.parametrize("kind", KINDS)
@QUICK
@given(name=st.one_of(path_parts, st.sampled_from(["metadata.json", "model.onnx",
                                                   "encoder.onnx", "METADATA.JSON"])),
       version=st.sampled_from(["", "/versions/1", "/versions/2", "/versions/%C2%B9",
                                "/labels/x"]))
def test_file_paths_answer_listed_files_or_404(kind_clients, kind, name, version):
    if name in (".", ".."):  # the client resolves them before sending: another route
        hypothesis.reject()
    response = kind_clients[kind].get(f"/v1/models/dcgan{version}/files/{name}")
    _check(response, "GET")
    listed = name in ("metadata.json", "model.onnx") and version in ("", "/versions/1")
    assert response.status_code == (200 if listed else 404), (name, version, response.text)
