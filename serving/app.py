"""The REST application of `genart serve`: TensorFlow Serving's contract, backed by onnxruntime.

Clients written for TF Serving work unchanged:

    GET  /v1/models/{name}[/versions/{v}]            -> model_version_status
    GET  /v1/models/{name}[/versions/{v}]/metadata   -> signature defs
    POST /v1/models/{name}[/versions/{v}]:predict    -> {"predictions"} / {"outputs"}
    GET  /v1/models/{name}[/versions/{v}]:sample?seed=&n=   -> PNG grid (ours)
    GET  /v1/models/{name}[/versions/{v}]/files/{file}      -> model.onnx, encoder.onnx,
                                                               metadata.json (ours)
    GET  /studio/                                           -> the studio page (ours)

Errors are `{"error": "..."}` with TF Serving's status codes. The latest version
serves by default; a version folder that appears is picked up on the next
request, and requests in flight finish on the version they started with.

Each route is a small function here; the application's state (`app.state`)
holds the `ModelRepository`, the `RequestMetrics` and the request limits.
Work that may load a model or read files runs in the thread pool, never on
the event loop.
"""

import base64
import hashlib
import logging
import os
import threading
from dataclasses import dataclass

import anyio
import numpy as np
import orjson
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from keras_genart.contract import read_metadata
from keras_genart.serving.config import read_model_config
from keras_genart.serving.metrics import AccountingMiddleware, RequestMetrics
from keras_genart.serving import studio_assets
from keras_genart.serving.repository import ModelRepository, poll_config
from keras_genart.serving.requests import (MODEL_PATH, ApiError, check_body_size, parse_inputs,
                                           parse_json, parse_sample_query, parse_signature)

log = logging.getLogger("keras_genart.serving")

_SERVING_DIR = os.path.dirname(os.path.abspath(__file__))
# The studio's files (serving/studio) and the JavaScript latent recipe it shares with Node.
STUDIO_DIR = os.path.join(_SERVING_DIR, "studio")
_STUDIO_SHARED = {name: os.path.join(_SERVING_DIR, "node", name)
                  for name in ("latents.js", "png.js")}
_MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".wasm": "application/wasm", ".json": "application/json",
                ".png": "image/png", ".txt": "text/plain; charset=utf-8",
                ".onnx": "application/octet-stream"}


@dataclass(frozen=True)
class Limits:
    """What one request may ask for.

    Args:
        max_batch: int. Most latents per predict request.
        max_body_bytes: int. Largest request body.
        max_sample: int. Most pictures per `:sample` grid.
        body_seconds: float. Most seconds to receive a request body. Defaults to 30.
    """

    max_batch: int
    max_body_bytes: int
    max_sample: int
    body_seconds: float = 30


def create_app(model_root=None, max_batch=64, max_body_bytes=1 << 20, max_sample=64,
               threads=None, load=None, num_versions=1, versions=None,
               model_config_file=None, config_poll_seconds=60, body_seconds=30):
    """The FastAPI application serving every model under `model_root`, or the
    models of a TF Serving model config file.

    Args:
        model_root: str. The base folder `genart export --out` wrote.
        max_batch: int. Most latents per predict request. Defaults to 64.
        max_body_bytes: int. Largest request body. Defaults to 1 MiB.
        max_sample: int. Most pictures per `:sample` grid. Defaults to 64.
        threads: int. onnxruntime threads per model. Defaults to onnxruntime's.
        load: callable. `load(version_dir) -> Generator`; defaults to
            `keras_genart.serving.Generator` (tests pass a slow one).
        num_versions: int. Serve the latest this many versions of each model
            (TF Serving's default policy, latest 1). Defaults to 1.
        versions: list of int. Serve these versions only (TF Serving's
            `specific` policy), instead of the latest ones.
        model_config_file: str. Instead of `model_root`: TF Serving's model
            config file (`serving/config.py`): models from several base paths,
            each with its version policy and version labels.
        config_poll_seconds: float. How often the config file is checked for
            changes and reread (0: never). A file that no longer parses is
            reported in the log and the previous configuration stays.
        body_seconds: float. Most seconds to receive a request body: a client
            that sends it slower gets a 408, and its connection is freed.
            Defaults to 30.
    """
    repo = _repository(model_root, threads, load, num_versions, versions, model_config_file)
    repo.load_served()  # as TF Serving: the policies' versions load before the server answers
    # FastAPI's own document would describe one catch-all route; ours
    # describes the real contract (serving/openapi.py). Its /docs page loads
    # from a CDN, which a server without internet cannot reach: left out.
    app = FastAPI(title="keras_genart serving", version="1", openapi_url=None, docs_url=None,
                  redoc_url=None)
    app.state.repository = repo
    app.state.limits = Limits(max_batch, max_body_bytes, max_sample, body_seconds)
    if model_config_file is not None and config_poll_seconds > 0:
        stop = threading.Event()
        threading.Thread(target=poll_config, args=(repo, model_config_file,
                                                   config_poll_seconds, stop),
                         daemon=True, name="model config poll").start()
        app.router.on_shutdown.append(stop.set)
    metrics = app.state.metrics = RequestMetrics(served=repo.loaded_versions)
    app.add_middleware(AccountingMiddleware, metrics=metrics)
    for kind, handler in ((ApiError, api_error), (StarletteHTTPException, http_error),
                          (Exception, internal_error)):
        app.add_exception_handler(kind, handler)
    # In this order: Starlette takes the first route that matches.
    for method, path, endpoint in (
            ("GET", "/monitoring/prometheus/metrics", prometheus),
            ("GET", "/openapi.json", openapi),
            ("GET", "/v1/models", list_models),
            ("GET", "/", to_studio),
            ("GET", "/studio", to_studio),
            ("GET", "/studio/models.json", studio_models),
            ("GET", "/studio/{path:path}", studio),
            ("GET", "/v1/models/{path:path}", get_model),
            ("POST", "/v1/models/{path:path}", post_model)):
        app.add_api_route(path, endpoint, methods=[method])
    return app


def _repository(model_root, threads, load, num_versions, versions, model_config_file):
    """The ModelRepository of a base folder or of a model config file (one of the two)."""
    if (model_root is None) == (model_config_file is None):
        raise ValueError("give a model base folder or a model config file, not both")
    if model_config_file is not None:
        return ModelRepository(threads=threads, load=load,
                               configs=read_model_config(model_config_file))
    if not os.path.isdir(model_root):
        raise FileNotFoundError(f"model base folder '{model_root}' does not exist")
    return ModelRepository(model_root, threads=threads, load=load,
                           num_versions=num_versions, versions=versions)


# --- errors: every one is {"error": "..."} ------------------------------------------

def _error(status, message, headers=None):
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def api_error(request, exc):
    return _error(exc.status, exc.message, exc.headers)


async def http_error(request, exc):
    """Unknown routes and wrong methods, in the same error shape."""
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:  # Starlette names the first route's methods; say ours
        match = MODEL_PATH.match(request.url.path.removeprefix("/v1/models/"))
        headers = {"Allow": "POST" if match and match.group("verb") == "predict" else "GET"}
    return _error(exc.status_code, str(exc.detail), headers)


async def internal_error(request, exc):
    log.exception("error while serving %s", request.url.path)
    return _error(500, f"internal error: {type(exc).__name__}: {exc}")


# --- the routes -----------------------------------------------------------------------

async def prometheus(request: Request):
    return Response(request.app.state.metrics.text(), media_type="text/plain; version=0.0.4")


async def openapi(request: Request):
    from keras_genart.serving.openapi import openapi_document

    limits = request.app.state.limits
    return await run_in_threadpool(openapi_document, request.app.state.repository,
                                   limits.max_batch, limits.max_body_bytes, limits.max_sample,
                                   limits.body_seconds)


async def list_models(request: Request):
    return {"models": await run_in_threadpool(request.app.state.repository.model_names)}


async def to_studio():
    return RedirectResponse("/studio/", status_code=307)


async def studio_models(request: Request):
    return await run_in_threadpool(model_list, request.app.state.repository)


async def studio(path: str):
    file = _studio_file(path or "index.html")
    if file is None:
        raise ApiError(404, f"unknown studio file /studio/{path}")
    return FileResponse(file, media_type=_MEDIA_TYPES.get(os.path.splitext(file)[1],
                                                          "application/octet-stream"),
                        headers={"Cache-Control": "no-cache"})


async def get_model(path: str, request: Request):
    repo = request.app.state.repository
    name, version, meta, verb = _route(repo, path)
    if verb == "files":
        return await run_in_threadpool(model_file, repo, name, version, meta)
    if verb == "sample":
        return await run_in_threadpool(sample_grid, repo, name, version, request.query_params,
                                       request.app.state.limits.max_sample)
    if verb in ("predict", "classify", "regress"):
        raise ApiError(405, f"':{verb}' needs POST", {"Allow": "POST"})
    if verb is not None:
        raise ApiError(404, f"unknown method ':{verb}'")
    # Looking a version up may load it: never on the event loop.
    if meta:
        return await run_in_threadpool(model_metadata, repo, name, version)
    return await run_in_threadpool(model_status, repo, name, version)


async def post_model(path: str, request: Request):
    repo, limits = request.app.state.repository, request.app.state.limits
    name, version, meta, verb = _route(repo, path)
    if verb in ("classify", "regress"):
        raise ApiError(400, f"':{verb}' is not supported; these generators answer "
                            "':predict'")
    if verb in ("sample", "files", None):  # status, metadata, files, :sample: GET
        raise ApiError(405, f"POST needs ':predict', got /v1/models/{path}", {"Allow": "GET"})
    if verb != "predict":
        raise ApiError(404, f"unknown method ':{verb}'")
    body = await _read_body(request, limits)
    return await run_in_threadpool(predict, repo, body, name, version, limits.max_batch)


async def _read_body(request, limits):
    """The request's body, or a 413 (over `max_body_bytes`) or a 408 (not received
    within `body_seconds`: a slow client holds a connection and its bytes no longer)."""
    check_body_size(request.headers.get("content-length"), limits.max_body_bytes)
    body = bytearray()
    try:
        with anyio.fail_after(limits.body_seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limits.max_body_bytes:
                    raise ApiError(413, "request body exceeds the limit of "
                                        f"{limits.max_body_bytes} bytes")
    except TimeoutError:
        raise ApiError(408, f"request body not received within {limits.body_seconds:g} s "
                            f"({len(body)} bytes came)", {"Connection": "close"}) from None
    except ClientDisconnect:  # nobody reads the answer: a 400 for the log, no traceback
        raise ApiError(400, f"the client left before its request body ended ({len(body)} "
                            "bytes came)") from None
    return bytes(body)


def _route(repo, path):
    """`(name, version, meta, verb)` of the path after `/v1/models/`; a file's name is
    `meta` with the verb "files"."""
    match = MODEL_PATH.match(path)
    if not match:
        raise ApiError(404, f"unknown path /v1/models/{path}")
    name, version = match.group("name"), match.group("version")
    if match.group("label") is not None:  # a model config file's version_labels
        version = repo.label_version(name, match.group("label"))
    if match.group("file") is not None:
        return name, version, match.group("file"), "files"
    return name, version, match.group("meta"), match.group("verb")


# --- what the routes do, in the thread pool ----------------------------------------------

def model_status(repo, name, version):
    """TF Serving's model status: every version of the model's policy with its state
    (newest first), or the version asked for (which this loads, or answers 404 with
    why it does not load). A failed load is END with the error, as in TF Serving."""
    if version is None:
        states, served = repo.version_status(name), repo.latest_ready(name)
    else:
        served, _ = repo.get(name, version)
        states = [(served, "AVAILABLE", "")]
    return JSONResponse({"model_version_status": [{
        "version": str(v), "state": state,
        "status": {"error_code": "UNKNOWN" if error else "OK", "error_message": error}}
        for v, state, error in states]},
        headers={} if served is None else {"X-Model-Version": str(served)})


def model_metadata(repo, name, version):
    served, generator = repo.get(name, version)
    return JSONResponse({
        "model_spec": {"name": name, "signature_name": "", "version": str(served)},
        "metadata": {"signature_def": {"signature_def": signature_defs(generator)}}},
        headers={"X-Model-Version": str(served)})


def sample_grid(repo, name, version, query, max_sample):
    served, generator = repo.get(name, version)
    seed, n, label, truncation = parse_sample_query(query, generator.label_names, max_sample)
    return Response(generator.sample_png(n, seed, label=label, truncation=truncation),
                    media_type="image/png", headers={"X-Model-Version": str(served)})


def predict(repo, body, name, version, max_batch):
    served, generator = repo.get(name, version)
    payload = parse_json(body)
    signature = parse_signature(payload)
    z, labels, row = parse_inputs(payload, generator.latent_dim, max_batch,
                                  generator.class_names)
    images = generator.run(z, labels)
    if signature == "render":
        from keras_genart import imaging

        values = [{"b64": base64.b64encode(png).decode()}
                  for png in generator.png(imaging.to_uint8(images))]
    else:
        # float32 carries ~7 significant digits; 6 decimals keep the JSON short.
        # Rounded in float64: float32 rounding would miss the 6th decimal.
        values = np.ascontiguousarray(np.round(images.astype(np.float64), 6))
    # orjson writes NumPy arrays without a Python list in between: a batch-64
    # answer (196,608 floats) took ~100 ms through json.dumps, ~10 ms here.
    return Response(orjson.dumps({"predictions": values} if row else {"outputs": values},
                                 option=orjson.OPT_SERIALIZE_NUMPY),
                    media_type="application/json", headers={"X-Model-Version": str(served)})


def model_file(repo, name, version, filename):
    served, generator = repo.get(name, version)
    listed = generator.metadata.get("sha256", {})
    if filename != "metadata.json" and not (filename.endswith(".onnx") and filename in listed):
        raise ApiError(404, f"no file {filename!r} in version {served} of {name!r}; "
                            f"there are metadata.json and "
                            f"{', '.join(f for f in listed if f.endswith('.onnx'))}")
    headers = {"X-Model-Version": str(served), "Cache-Control": "no-cache"}
    # The files of the model that answers, never what a `--force` export may have put on
    # disk since it loaded: its metadata from memory, a model file only if it still has
    # the sha256 that the loaded version was checked against.
    if filename == "metadata.json":
        return Response(orjson.dumps(generator.metadata), media_type=_MEDIA_TYPES[".json"],
                        headers=headers)
    with open(os.path.join(generator.path, filename), "rb") as f:
        body = f.read()
    if hashlib.sha256(body).hexdigest() != listed[filename]:
        raise ApiError(503, f"version {served} of {name!r} is being replaced on disk; "
                            "ask again in a moment", {"Retry-After": "1"})
    return Response(body, media_type=_MEDIA_TYPES[os.path.splitext(filename)[1]],
                    headers=headers)


def model_list(repo):
    """Every model with the versions its policy serves and the newest's metadata."""
    models = []
    for name in repo.model_names():
        try:
            versions = repo.served_versions(name)
        except ApiError:
            continue
        if not versions:
            continue
        try:
            found = read_metadata(repo.version_path(name, versions[-1]))
        except (OSError, ValueError) as error:
            found = {"error": f"metadata.json: {error}"}
        models.append({"name": name, "versions": [str(v) for v in versions],
                       "latest": str(versions[-1]), "metadata": found})
    return {"models": models}


def signature_defs(generator):
    """TF Serving's `signature_def` map of a generator: `serving_default` answers
    pixels, `render` PNGs; both take `z` (and `label` when conditional)."""
    latent = generator.latent_dim
    size, channels = generator.image_size, generator.channels

    def tensor(name, dtype, dims):
        return {"dtype": dtype, "name": name, "tensor_shape": {
            "dim": [{"size": str(d), "name": ""} for d in dims], "unknown_rank": False}}

    def inputs(signature):
        found = {"z": tensor(f"{signature}_z:0", "DT_FLOAT", [-1, latent])}
        if generator.class_names:
            found["label"] = tensor(f"{signature}_label:0", "DT_INT64", [-1])
        return found

    return {
        "serving_default": {
            "inputs": inputs("serving_default"), "method_name": "tensorflow/serving/predict",
            "outputs": {"images": tensor("images", "DT_FLOAT", [-1, size, size, channels])}},
        "render": {
            "inputs": inputs("render"),
            "method_name": "tensorflow/serving/predict",
            "outputs": {"images_bytes": tensor("images_bytes", "DT_STRING", [-1])}},
    }


def _studio_file(path):
    """The file of a studio URL path, or None: only files under serving/studio of the
    page's kinds (and the shared latents.js and png.js), no hidden ones, nothing outside,
    no NUL byte (which the file system calls refuse with a ValueError)."""
    if path in _STUDIO_SHARED:
        return _STUDIO_SHARED[path]
    folder, _, name = path.rpartition("/")
    if folder == "vendor" and name in studio_assets.ASSET_FILES:  # npm's or the wheel's
        file = studio_assets.asset_file(name)
        if file is None:
            raise ApiError(503, studio_assets.missing_message())
        return file
    parts = path.split("/")
    if (any(not part or part.startswith(".") or "\\" in part or "\0" in part
            for part in parts)
            or os.path.splitext(path)[1] not in _MEDIA_TYPES):
        return None
    file = os.path.realpath(os.path.join(STUDIO_DIR, *parts))
    if not file.startswith(os.path.realpath(STUDIO_DIR) + os.sep) or not os.path.isfile(file):
        return None
    return file
