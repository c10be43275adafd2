"""A REST server that speaks TensorFlow Serving's contract, backed by onnxruntime.

Clients written for TF Serving work unchanged:

    GET  /v1/models/{name}[/versions/{v}]            -> model_version_status
    GET  /v1/models/{name}[/versions/{v}]/metadata   -> signature defs
    POST /v1/models/{name}[/versions/{v}]:predict    -> {"predictions"} / {"outputs"}
    GET  /v1/models/{name}[/versions/{v}]:sample?seed=&n=   -> PNG grid (ours)

Errors are `{"error": "..."}` with TF Serving's status codes. The latest version
serves by default; a version folder that appears is picked up on the next
request, and requests in flight finish on the version they started with.
"""

import base64
import json
import logging
import os
import re
import threading

import numpy as np

from keras_genart.export.exporter import NAME_PATTERN
from keras_genart.export.metadata import VERSION_PATTERN
from keras_genart.serving.runtime import Generator, find_versions

log = logging.getLogger("keras_genart.serving")

SIGNATURES = ("serving_default", "render")

# The deepest JSON a request may nest: a valid predict body nests 4 levels
# ({"instances": [{"z": [...]}]}). Checked before parsing, so that a body of
# thousands of `[` costs one pass over its bytes, not a parser recursion.
MAX_JSON_DEPTH = 32
_DEPTH_STEP = np.zeros(256, np.int32)
_DEPTH_STEP[[ord("["), ord("{")]] = 1
_DEPTH_STEP[[ord("]"), ord("}")]] = -1
FLOAT32_MAX = float(np.finfo(np.float32).max)
_PATH = re.compile(
    r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
    r"(?:(?P<meta>/metadata)|:(?P<verb>[A-Za-z]+))?$")


class ApiError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


class ModelRepository:
    """The models under a base folder (`ROOT/NAME/VERSION/`), loaded on demand.

    Thread-safe. A version that fails to load (say, copied in by hand and not
    complete yet) is skipped for "latest" and retried when its files change.
    """

    def __init__(self, root, threads=None):
        self.root = os.fspath(root)
        self.threads = threads
        self._loaded = {}   # (name, version) -> (stamp, Generator)
        self._failed = {}   # (name, version) -> (stamp, message)
        self._lock = threading.Lock()

    def model_names(self):
        return sorted(n for n in os.listdir(self.root)
                      if NAME_PATTERN.match(n) and find_versions(os.path.join(self.root, n)))

    def _model_dir(self, name):
        if not NAME_PATTERN.match(name) or name in (".", ".."):
            raise ApiError(404, f"Servable not found for request: model name {name!r} is "
                                "not valid")
        return os.path.join(self.root, name)

    def versions(self, name):
        versions = find_versions(self._model_dir(name))
        if not versions:
            raise ApiError(404, f"Servable not found for request: Latest({name}); "
                                f"no model named {name!r} under the model base path")
        return versions

    def _stamp(self, path):
        """Changes whenever the files a Generator reads change."""
        stamp = []
        for name in ("metadata.json", "model.onnx"):
            try:
                info = os.stat(os.path.join(path, name))
                stamp.append((info.st_mtime_ns, info.st_size))
            except FileNotFoundError:
                stamp.append(None)
        return tuple(stamp)

    def _load(self, name, version):
        key = (name, version)
        path = os.path.join(self.root, name, str(version))
        stamp = self._stamp(path)
        with self._lock:
            hit = self._loaded.get(key)
            if hit and hit[0] == stamp:
                return hit[1]
            failed = self._failed.get(key)
            if failed and failed[0] == stamp:
                raise ApiError(404, failed[1])
            try:
                generator = Generator(path, threads=self.threads)
            except Exception as e:  # a broken or half-copied version
                message = f"version {version} of {name!r} failed to load: {e}"
                log.warning(message)
                self._failed[key] = (stamp, message)
                raise ApiError(404, message) from e
            self._loaded[key] = (stamp, generator)
            return generator

    def get(self, name, version=None):
        """The Generator of a version, or of the latest one that loads."""
        versions = self.versions(name)
        if version is not None:
            if not VERSION_PATTERN.fullmatch(str(version)) or int(version) not in versions:
                raise ApiError(404, f"Servable not found for request: Specific({name}, "
                                    f"{version}); versions present: "
                                    f"{', '.join(map(str, versions))}")
            return int(version), self._load(name, int(version))
        error = None
        for candidate in reversed(versions):
            try:
                return candidate, self._load(name, candidate)
            except ApiError as e:
                error = e
        raise error


def _signature_defs(generator):
    latent = generator.latent_dim
    size, channels = generator.image_size, generator.channels

    def tensor(name, dtype, dims):
        return {"dtype": dtype, "name": name, "tensor_shape": {
            "dim": [{"size": str(d), "name": ""} for d in dims], "unknown_rank": False}}

    z = {"z": tensor("serving_default_z:0", "DT_FLOAT", [-1, latent])}
    return {
        "serving_default": {
            "inputs": z, "method_name": "tensorflow/serving/predict",
            "outputs": {"images": tensor("images", "DT_FLOAT", [-1, size, size, channels])}},
        "render": {
            "inputs": {"z": tensor("render_z:0", "DT_FLOAT", [-1, latent])},
            "method_name": "tensorflow/serving/predict",
            "outputs": {"images_bytes": tensor("images_bytes", "DT_STRING", [-1])}},
    }


def _json_depth(body):
    """The deepest bracket nesting of a body (brackets inside strings count too:
    no valid request has any)."""
    if not body:
        return 0
    return int(np.cumsum(_DEPTH_STEP[np.frombuffer(body, np.uint8)]).max(initial=0))


def _parse_json(body):
    depth = _json_depth(body)
    if depth > MAX_JSON_DEPTH:
        raise ApiError(400, f"request body nests JSON {depth} levels deep; the limit is "
                            f"{MAX_JSON_DEPTH}")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ApiError(400, f"malformed JSON in request body: {e}") from e


def _parse_latents(body, latent_dim, max_batch):
    """The `z` batch of a predict body, in row or columnar format."""
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object with 'instances' or 'inputs'")
    if ("instances" in body) == ("inputs" in body):
        raise ApiError(400, "request must have exactly one of 'instances' (row format) or "
                            "'inputs' (columnar format)")
    row = "instances" in body
    data = body["instances"] if row else body["inputs"]
    if row and isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        if any(set(x) != {"z"} for x in data):
            raise ApiError(400, "each instance must be a list of numbers or {\"z\": [...]}; "
                                "this signature's only input is 'z'")
        data = [x["z"] for x in data]
    elif isinstance(data, dict):
        if set(data) != {"z"}:
            raise ApiError(400, f"unknown input(s) {sorted(set(data) - {'z'})}; this "
                                "signature's only input is 'z'")
        data = data["z"]
    if not isinstance(data, list):
        raise ApiError(400, f"'z' must be a list of latent vectors, got {type(data).__name__}")
    if len(data) > max_batch:
        raise ApiError(400, f"batch of {len(data)} exceeds the server's limit of "
                            f"{max_batch} per request")
    # NumPy would turn true/false into 1/0: refuse booleans explicitly.
    if any(isinstance(v, bool) for row in data if isinstance(row, list) for v in row):
        raise ApiError(400, "'z' must hold numbers (DT_FLOAT), got booleans")
    try:
        z = np.array(data)
    except ValueError as e:
        raise ApiError(400, f"'z' must be a rectangular [batch, {latent_dim}] array of "
                            f"numbers: {e}") from e
    if z.size and z.dtype.kind not in "iuf":
        raise ApiError(400, f"'z' must hold numbers (DT_FLOAT), got {z.dtype.kind!r}-kind "
                            "values such as strings or booleans")
    if z.ndim != 2 or z.shape[0] < 1 or z.shape[1] != latent_dim:
        raise ApiError(400, f"'z' must have shape [batch, {latent_dim}] with batch >= 1, got "
                            f"{list(z.shape)}")
    if not (np.abs(z) <= FLOAT32_MAX).all():  # also false for NaN
        raise ApiError(400, "'z' holds NaN, Infinity or a number beyond float32's range "
                            f"(|z| <= {FLOAT32_MAX:.8g}); latents must be finite float32 numbers")
    z = z.astype(np.float32)
    return z, row


def create_app(model_root, max_batch=64, max_body_bytes=1 << 20, max_sample=64,
               threads=None):
    """The FastAPI application serving every model under `model_root`.

    Args:
        model_root: str. The base folder `genart export --out` wrote.
        max_batch: int. Most latents per predict request. Defaults to 64.
        max_body_bytes: int. Largest request body. Defaults to 1 MiB.
        max_sample: int. Most pictures per `:sample` grid. Defaults to 64.
        threads: int. onnxruntime threads per model. Defaults to onnxruntime's.
    """
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse, Response
    from starlette.exceptions import HTTPException as StarletteHTTPException

    if not os.path.isdir(model_root):
        raise FileNotFoundError(f"model base folder '{model_root}' does not exist")
    repo = ModelRepository(model_root, threads=threads)
    # FastAPI's own document would describe one catch-all route; ours
    # describes the real contract (serving/openapi.py). Its /docs page loads
    # from a CDN, which a server without internet cannot reach: left out.
    app = FastAPI(title="keras_genart serving", version="1", openapi_url=None, docs_url=None,
                  redoc_url=None)
    app.state.repository = repo

    def error(status, message, headers=None):
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    def json_bytes(payload, version):
        return Response(json.dumps(payload, separators=(",", ":")).encode(),
                        media_type="application/json",
                        headers={"X-Model-Version": str(version)})

    def route(path):
        match = _PATH.match(path)
        if not match:
            raise ApiError(404, f"unknown path /v1/models/{path}")
        return match.group("name"), match.group("version"), match.group("meta"), \
            match.group("verb")

    def status(name, version):
        served, _ = repo.get(name, version)
        return {"model_version_status": [{"version": str(served), "state": "AVAILABLE",
                                          "status": {"error_code": "OK",
                                                     "error_message": ""}}]}

    @app.exception_handler(ApiError)
    async def api_error(request, exc):
        return error(exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc):  # unknown routes, wrong methods: same error shape
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names the first route's methods; say ours
            match = _PATH.match(request.url.path.removeprefix("/v1/models/"))
            headers = {"Allow": "POST" if match and match.group("verb") == "predict"
                       else "GET"}
        return error(exc.status_code, str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def internal_error(request, exc):
        log.exception("error while serving %s", request.url.path)
        return error(500, f"internal error: {type(exc).__name__}: {exc}")

    @app.get("/openapi.json")
    async def openapi():
        from keras_genart.serving.openapi import openapi_document

        return await run_in_threadpool(openapi_document, repo, max_batch, max_body_bytes,
                                       max_sample)

    @app.get("/v1/models")
    async def list_models():
        return {"models": repo.model_names()}

    @app.get("/v1/models/{path:path}")
    async def get(path: str, request: Request):
        name, version, meta, verb = route(path)
        if verb == "sample":
            return await run_in_threadpool(sample, name, version, request.query_params)
        if verb in ("predict", "classify", "regress"):
            raise ApiError(405, f"':{verb}' needs POST", {"Allow": "POST"})
        if verb is not None:
            raise ApiError(404, f"unknown method ':{verb}'")
        if meta:
            served, generator = repo.get(name, version)
            return {"model_spec": {"name": name, "signature_name": "", "version": str(served)},
                    "metadata": {"signature_def": {
                        "signature_def": _signature_defs(generator)}}}
        return status(name, version)

    def sample(name, version, query):
        served, generator = repo.get(name, version)
        try:
            seed = int(query.get("seed", 0))
            n = int(query.get("n", 16))
        except ValueError:
            raise ApiError(400, "seed and n must be integers") from None
        if not 0 <= seed < 2 ** 63 or not 1 <= n <= max_sample:
            raise ApiError(400, f"need 0 <= seed < 2**63 and 1 <= n <= {max_sample}, got "
                                f"seed={seed}, n={n}")
        return Response(generator.sample_png(n, seed), media_type="image/png",
                        headers={"X-Model-Version": str(served)})

    @app.post("/v1/models/{path:path}")
    async def post(path: str, request: Request):
        name, version, meta, verb = route(path)
        if verb in ("classify", "regress"):
            raise ApiError(400, f"':{verb}' is not supported; these generators answer "
                                "':predict'")
        if verb in ("sample", None):  # status, metadata and :sample answer GET
            raise ApiError(405, f"POST needs ':predict', got /v1/models/{path}", {"Allow": "GET"})
        if verb != "predict":
            raise ApiError(404, f"unknown method ':{verb}'")
        declared = request.headers.get("content-length")
        # ASCII digits only, as versions; anything else meets the streamed-size check below.
        if declared and VERSION_PATTERN.fullmatch(declared) and int(declared) > max_body_bytes:
            raise ApiError(413, f"request body of {declared} bytes exceeds the limit of "
                                f"{max_body_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                raise ApiError(413, f"request body exceeds the limit of {max_body_bytes} bytes")
        served, generator = repo.get(name, version)
        return await run_in_threadpool(predict, bytes(body), generator, served)

    def predict(body, generator, served):
        payload = _parse_json(body)
        signature = payload.get("signature_name", "") if isinstance(payload, dict) else ""
        if not isinstance(signature, str):
            raise ApiError(400, "'signature_name' must be a string, got "
                                f"{type(signature).__name__}")
        signature = signature or "serving_default"
        if signature not in SIGNATURES:
            raise ApiError(400, f"Serving signature name: \"{signature}\" not found in "
                                f"signature def; this server has {', '.join(SIGNATURES)}")
        z, row = _parse_latents(payload, generator.latent_dim, max_batch)
        images = generator.run(z)
        if signature == "render":
            from keras_genart import imaging

            values = [{"b64": base64.b64encode(png).decode()}
                      for png in generator.png(imaging.to_uint8(images))]
        else:
            # float32 carries ~7 significant digits; 6 decimals keep the JSON short.
            values = np.round(images.astype(np.float64), 6).tolist()
        return json_bytes({"predictions": values} if row else {"outputs": values}, served)

    return app


def serve(model_root, host="127.0.0.1", port=8501, **kwargs):
    """Runs the server with uvicorn until interrupted."""
    import uvicorn

    app = create_app(model_root, **kwargs)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
