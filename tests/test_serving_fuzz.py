"""Hostile requests never get a 5xx: property-based tests of the REST API, in-process.

Hypothesis generates bodies (random JSON shapes and types, huge and
non-finite numbers, deep nesting, random bytes), paths, methods, headers and
query strings. The property: every answer is 2xx/4xx, errors have TF
Serving's `{"error": "..."}` shape, and afterwards a valid request still
answers the same pixels. Examples are derandomized (the same in every run) and
bounded so that the suite stays fast.
"""

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
