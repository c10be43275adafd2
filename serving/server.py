"""A REST server that speaks TensorFlow Serving's contract, backed by onnxruntime.

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
"""

import base64
import json
import logging
import os
import re
import sys
import threading
import time

import numpy as np
import orjson

from keras_genart.export.metadata import NAME_PATTERN, VERSION_PATTERN, read_metadata
from keras_genart.serving.runtime import Generator, find_versions

log = logging.getLogger("keras_genart.serving")
access_log = logging.getLogger("keras_genart.serving.access")

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
    r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?:(?P<meta>/metadata)|/files/(?P<file>[^/:]+)|:(?P<verb>[A-Za-z]+))?$")
# The studio's files (serving/studio) and the JavaScript latent recipe it shares with Node.
STUDIO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "studio")
_STUDIO_SHARED = {name: os.path.join(os.path.dirname(os.path.abspath(__file__)), "node", name)
                  for name in ("latents.js", "png.js")}
_MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".wasm": "application/wasm", ".json": "application/json",
                ".png": "image/png", ".txt": "text/plain; charset=utf-8",
                ".onnx": "application/octet-stream"}


class ApiError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


class ModelRepository:
    """The models under a base folder (`ROOT/NAME/VERSION/`) or named by a model
    config file, loaded on demand.

    Thread-safe. A version that fails to load (say, copied in by hand and not
    complete yet) is skipped for "latest" and retried when its files change.
    Each version loads under its own lock, so a request for a loaded version
    never waits for another version's load; and while a newer version loads,
    "latest" keeps answering from the newest version already loaded (as TF
    Serving does: a version serves once it is AVAILABLE).

    Args:
        root: str. The base folder, for every model in it; or None with `configs`.
        threads: int. onnxruntime threads per model.
        load: callable. `load(version_dir) -> Generator`.
        num_versions, versions: the version policy of every model under `root`.
        configs: `{name: serving.config.ModelConfig}` from a model config file
            (each model with its own base path, policy and labels).
    """

    def __init__(self, root=None, threads=None, load=None, num_versions=1, versions=None,
                 configs=None):
        from keras_genart.serving.config import ModelConfig

        self.root = None if root is None else os.fspath(root)
        if (self.root is None) == (configs is None):
            raise ValueError("give a model base folder or model configs, not both")
        self.threads = threads
        self._default = ModelConfig("", "", num_versions=int(num_versions))
        if versions is not None:
            self._default.specific = sorted({int(v) for v in versions})
            if not self._default.specific:
                raise ValueError("versions must name at least one version")
        elif int(num_versions) < 1:
            raise ValueError(f"num_versions must be at least 1, got {num_versions}")
        self._configs = configs
        self._new_generator = load or (lambda path: Generator(path, threads=self.threads))
        self._loaded = {}   # (name, version) -> (stamp, Generator)
        self._failed = {}   # (name, version) -> (stamp, message)
        self._loading = {}  # (name, version) -> Lock held while that version loads
        self._lock = threading.Lock()  # guards the dicts; never held during a load

    def set_configs(self, configs):
        """Serves the models of a (re)read model config file from now on; the
        versions of models that left it or moved are unloaded."""
        with self._lock:
            old, self._configs = self._configs or {}, configs
            gone = {n for n, c in old.items()
                    if n not in configs or configs[n].base_path != c.base_path}
            unloaded = [self._loaded.pop(k) for k in list(self._loaded) if k[0] in gone]
            for key in [k for k in self._failed if k[0] in gone]:
                del self._failed[key]
        if unloaded:
            del unloaded
            _release_memory()

    def _config(self, name):
        if self._configs is not None:
            config = self._configs.get(name)
            if config is None:
                raise ApiError(404, f"Servable not found for request: Latest({name}); no model "
                                    f"named {name!r} in the model config file")
            return config
        if not NAME_PATTERN.match(name) or name in (".", ".."):
            raise ApiError(404, f"Servable not found for request: model name {name!r} is "
                                "not valid")
        default = self._default
        return type(default)(name, os.path.join(self.root, name), default.num_versions,
                             default.specific)

    def model_names(self):
        if self._configs is not None:
            names = list(self._configs)
        else:
            names = [n for n in os.listdir(self.root) if NAME_PATTERN.match(n)]
        return sorted(n for n in names if find_versions(self._config(n).base_path))

    def _model_dir(self, name):
        return self._config(name).base_path

    def version_path(self, name, version):
        """The folder of a version of a model."""
        return os.path.join(self._model_dir(name), str(version))

    def versions(self, name):
        versions = find_versions(self._model_dir(name))
        if not versions:
            raise ApiError(404, f"Servable not found for request: Latest({name}); "
                                f"no model named {name!r} under the model base path")
        return versions

    def policy(self, name=None):
        """The version policy in words, for error messages."""
        return (self._default if name is None else self._config(name)).policy()

    def served_versions(self, name):
        """The versions present that the version policy serves (TF Serving's
        `model_version_policy`: the latest N, specific ones, or all)."""
        return self._config(name).select(self.versions(name))

    def labels(self, name):
        """`{label: version}` of a model (model config file's `version_labels`)."""
        return dict(self._config(name).labels)

    def label_version(self, name, label):
        """The version a model config file's `version_labels` gives `label`."""
        config = self._config(name)
        if label not in config.labels:
            known = ", ".join(sorted(config.labels)) or "none"
            raise ApiError(404, f"Servable not found for request: label {label!r} of model "
                                f"{name!r} is not defined (labels: {known})")
        return str(config.labels[label])

    def _stamp(self, path):
        """Changes whenever the files a Generator reads change."""
        return tuple(_file_stamp(os.path.join(path, name))
                     for name in ("metadata.json", "model.onnx"))

    def _cached(self, key, stamp):
        """The loaded Generator for `key` if its files have not changed, else None."""
        with self._lock:
            hit = self._loaded.get(key)
            if hit and hit[0] == stamp:
                return hit[1]
            failed = self._failed.get(key)
        if failed and failed[0] == stamp:
            raise ApiError(404, failed[1])
        return None

    def _load(self, name, version):
        key = (name, version)
        path = self.version_path(name, version)
        stamp = self._stamp(path)
        generator = self._cached(key, stamp)
        if generator is not None:
            return generator
        with self._lock:
            version_lock = self._loading.setdefault(key, threading.Lock())
        with version_lock:
            generator = self._cached(key, stamp)  # loaded while this thread waited
            if generator is not None:
                return generator
            try:
                generator = self._new_generator(path)
            except Exception as e:  # a broken or half-copied version
                message = f"version {version} of {name!r} failed to load: {e}"
                log.warning(message)
                with self._lock:
                    self._failed[key] = (stamp, message)
                raise ApiError(404, message) from e
            with self._lock:
                self._loaded[key] = (stamp, generator)
                self._failed.pop(key, None)
            return generator

    def _is_loading(self, name, version):
        with self._lock:
            lock = self._loading.get((name, version))
        return lock is not None and lock.locked()

    def _is_ready(self, name, version):
        with self._lock:
            if (name, version) not in self._loaded:
                return False  # no need to look at its files
        path = self.version_path(name, version)
        try:
            return self._cached((name, version), self._stamp(path)) is not None
        except ApiError:
            return False

    def _load_in_background(self, name, version):
        def load():
            try:
                self._load(name, version)
            except ApiError:
                pass  # recorded in _failed; "latest" skips it

        if not self._is_loading(name, version):
            threading.Thread(target=load, daemon=True,
                             name=f"load {name}/{version}").start()

    def get(self, name, version=None):
        """`(version, Generator)` of a version, or of the latest one the policy serves.

        "Latest" is the newest served version that is loaded; a newer one
        loads in the background meanwhile. With none loaded, the request
        loads the newest that loads (older versions too, when every served
        one fails: a half-copied new version does not take a model down).
        Versions that the policy no longer serves are unloaded; requests
        still running on them finish first (they hold the Generator).
        """
        versions = self.versions(name)
        served = self.served_versions(name)
        if version is not None:
            if not VERSION_PATTERN.fullmatch(str(version)) or int(version) not in versions:
                raise ApiError(404, f"Servable not found for request: Specific({name}, "
                                    f"{version}); versions present: "
                                    f"{', '.join(map(str, versions))}")
            if int(version) not in served:
                raise ApiError(404, f"Servable not found for request: Specific({name}, "
                                    f"{version}); the version policy serves {self.policy(name)}: "
                                    f"{', '.join(map(str, served)) or 'none present'}")
            return int(version), self._load(name, int(version))
        loaded = [v for v in versions if self._is_ready(name, v)]
        best = next((v for v in reversed(served) if v in loaded), None)
        if best is None and loaded:
            best = loaded[-1]  # outside the policy, kept until a served version loads
        if best is not None:
            newer = [v for v in served if v > best and not self._is_failed(name, v)]
            if newer:
                self._load_in_background(name, newer[-1])
            elif best in served:
                self._unload(name, keep=served)
            return best, self._load(name, best)
        error = None
        for candidate in list(reversed(served)) + [v for v in reversed(versions)
                                                   if v not in served]:
            try:
                return candidate, self._load(name, candidate)
            except ApiError as e:
                error = e
        raise error

    def _unload(self, name, keep):
        with self._lock:
            gone = [self._loaded.pop(k) for k in list(self._loaded)
                    if k[0] == name and k[1] not in keep]
        if gone:
            log.info("unloaded %d version(s) of %r", len(gone), name)
            del gone  # the last reference, unless a request still runs on one
            _release_memory()

    def loaded_versions(self, name):
        """The versions of `name` loaded now (for tests and monitoring)."""
        with self._lock:
            return sorted(v for n, v in self._loaded if n == name)

    def _is_failed(self, name, version):
        path = self.version_path(name, version)
        with self._lock:
            failed = self._failed.get((name, version))
        return failed is not None and failed[0] == self._stamp(path)


class RequestMetrics:
    """Request counts and latency histograms in Prometheus' text format.

    Labels as TF Serving's own metrics: model, version (the one that answered),
    API (`predict`, `sample`, `metadata`, `status`, or `other`) and status code.
    """

    BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = {}      # (model, version, api, status) -> requests
        self._latency = {}     # (model, version, api) -> [bucket counts..., sum, count]

    def observe(self, model, version, api, status, seconds):
        with self._lock:
            key = (model, version, api, str(status))
            self._counts[key] = self._counts.get(key, 0) + 1
            hist = self._latency.setdefault((model, version, api),
                                            [0] * len(self.BUCKETS) + [0.0, 0])
            for i, bound in enumerate(self.BUCKETS):
                if seconds <= bound:
                    hist[i] += 1
            hist[-2] += seconds
            hist[-1] += 1

    def text(self):
        def labels(**values):
            return ",".join(f'{k}="{_escape_label(v)}"' for k, v in values.items())

        lines = ["# HELP genart_requests_total Requests answered, by model, version, API "
                 "and status code.", "# TYPE genart_requests_total counter"]
        with self._lock:
            for (model, version, api, status), n in sorted(self._counts.items()):
                lines.append(f"genart_requests_total{{"
                             f"{labels(model=model, version=version, api=api, status=status)}"
                             f"}} {n}")
            lines += ["# HELP genart_request_latency_seconds Time from request to answer.",
                      "# TYPE genart_request_latency_seconds histogram"]
            for (model, version, api), hist in sorted(self._latency.items()):
                common = labels(model=model, version=version, api=api)
                for bound, n in zip(self.BUCKETS, hist):
                    lines.append(f'genart_request_latency_seconds_bucket{{{common},'
                                 f'le="{bound:g}"}} {n}')
                lines.append(f'genart_request_latency_seconds_bucket{{{common},le="+Inf"}} '
                             f"{hist[-1]}")
                lines.append(f"genart_request_latency_seconds_sum{{{common}}} {hist[-2]:.6f}")
                lines.append(f"genart_request_latency_seconds_count{{{common}}} {hist[-1]}")
        return "\n".join(lines) + "\n"


class _Accounting:
    """ASGI middleware: one access line per request and the Prometheus figures.

    Plain ASGI rather than Starlette's `@app.middleware("http")`, which cost
    about 0.3 ms a request here. The model label is the one in the path, the
    version the one that answered (`X-Model-Version`).
    """

    def __init__(self, app, metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        answer = {"status": 500, "version": ""}

        async def sending(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                for key, value in message.get("headers", ()):
                    if key == b"x-model-version":
                        answer["version"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - start
            path = scope.get("path", "")
            model, api = _api_of(path)
            version = answer["version"]
            self.metrics.observe(model, version, api, answer["status"], seconds)
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_log.info('%s "%s %s" %d %.1f ms%s', client[0] if client else "-",
                                scope.get("method", ""), path, answer["status"],
                                seconds * 1000, f" version={version}" if version else "")


def _escape_label(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _api_of(path):
    """(model, API) of a request path, for logs and metrics."""
    if not path.startswith("/v1/models/"):
        return "", "other"
    match = _PATH.match(path.removeprefix("/v1/models/"))
    if not match:
        return "", "other"
    verb = match.group("verb")
    api = verb if verb in ("predict", "sample") else "other" if verb else (
        "metadata" if match.group("meta") else "status")
    return match.group("name")[:64], api


def _file_stamp(path):
    """`(mtime_ns, size)` of a file, None when it is missing: changes when the file does."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_mtime_ns, info.st_size


def _glibc():
    """glibc with `malloc_trim` and `mallopt`, or None (another libc, another system)."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def _release_memory():
    """Hands freed heap back to the system (glibc keeps it otherwise).

    An unloaded onnxruntime session frees its memory, but glibc's allocator
    kept it: 20 versions loaded and unloaded in turn left the process 95 MiB
    larger; `malloc_trim` gave it back. A no-op where there is no glibc.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def _limit_malloc_arenas(arenas=2):
    """At most `arenas` glibc malloc arenas for the threads the server starts.

    glibc gives threads arenas of their own (up to 8 per core), and memory
    freed in one is not handed back: in the soak of `benchmarks/inference.py`
    (20 versions rolled in under 8 clients) the server grew 1.17x with
    `malloc_trim` alone, 1.02x with `MALLOC_ARENA_MAX=2`. Left alone when
    `MALLOC_ARENA_MAX` is set, and where there is no glibc.
    """
    libc = _glibc()
    if libc is not None and "MALLOC_ARENA_MAX" not in os.environ:
        libc.mallopt(-8, arenas)  # M_ARENA_MAX


def _poll_config(repo, path, seconds, stop):
    """Rereads a model config file whenever it changes, until `stop` is set."""
    from keras_genart.serving.config import ConfigError, read_model_config

    def stamp():
        try:
            return _file_stamp(path)
        except OSError:  # unreadable for now: try again at the next poll
            return None

    seen = stamp()
    while not stop.wait(seconds):
        now = stamp()
        if now == seen:
            continue
        seen = now
        try:
            repo.set_configs(read_model_config(path))
            log.warning("model config file %s reread", path)
        except ConfigError as e:
            log.error("model config file not reread, the previous one stays: %s", e)


def _signature_defs(generator):
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


def _parse_inputs(body, latent_dim, max_batch, class_names=None):
    """`(z, labels, row)` of a predict body, in row or columnar format.

    `labels` is None for an unconditional model; a conditional one (with
    `class_names`) needs a `label` (index or class name) for every latent.
    """
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object with 'instances' or 'inputs'")
    if ("instances" in body) == ("inputs" in body):
        raise ApiError(400, "request must have exactly one of 'instances' (row format) or "
                            "'inputs' (columnar format)")
    names = {"z", "label"} if class_names else {"z"}
    says = ("this signature's inputs are 'z' and 'label'" if class_names
            else "this signature's only input is 'z'")
    row = "instances" in body
    data = body["instances"] if row else body["inputs"]
    labels = None
    if row and isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        if any(set(x) != names for x in data):
            raise ApiError(400, "each instance must be "
                                + ('{"z": [...], "label": ...}' if class_names else
                                   'a list of numbers or {"z": [...]}') + f"; {says}")
        if class_names:
            labels = [x["label"] for x in data]
        data = [x["z"] for x in data]
    elif isinstance(data, dict):
        if set(data) != names:
            unknown = sorted(set(data) - names)
            raise ApiError(400, (f"unknown input(s) {unknown}; " if unknown else
                                 f"missing input(s) {sorted(names - set(data))}; ") + says)
        if class_names:
            labels = data["label"]
        data = data["z"]
    elif class_names:
        raise ApiError(400, f"this model is conditional: {says}; send instances "
                            '[{"z": [...], "label": ...}] or inputs {"z": [...], "label": [...]}')
    z = _parse_latents(data, latent_dim, max_batch)
    if class_names:
        labels = _parse_labels(labels, len(z), class_names)
    return z, labels, row


def _parse_labels(labels, n, class_names):
    """int labels `(n,)` from a request's `label` (ints or class names), or a 400."""
    from keras_genart.latents import resolve_labels

    if not isinstance(labels, list):
        labels = [labels] if n == 1 and not isinstance(labels, dict) else labels
    if not isinstance(labels, list) or len(labels) != n:
        raise ApiError(400, f"'label' must be a list of {n} classes (one per latent), got "
                            f"{type(labels).__name__}"
                            + (f" of {len(labels)}" if isinstance(labels, list) else ""))
    for label in labels:
        if not (isinstance(label, str) or (isinstance(label, int)
                                           and not isinstance(label, bool))):
            raise ApiError(400, f"each 'label' must be a class index (DT_INT64) or a class "
                                f"name, got {json.dumps(label)}")
    try:
        return resolve_labels(labels, n, class_names)
    except ValueError as error:
        raise ApiError(400, str(error)) from None


def _parse_latents(data, latent_dim, max_batch):
    """The `z` batch of a request: finite float32 `[batch, latent_dim]`, or a 400."""
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
    return z.astype(np.float32)


def create_app(model_root=None, max_batch=64, max_body_bytes=1 << 20, max_sample=64,
               threads=None, load=None, num_versions=1, versions=None,
               model_config_file=None, config_poll_seconds=60):
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
    """
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
    from starlette.exceptions import HTTPException as StarletteHTTPException

    if (model_root is None) == (model_config_file is None):
        raise ValueError("give a model base folder or a model config file, not both")
    if model_config_file is not None:
        from keras_genart.serving.config import read_model_config

        repo = ModelRepository(threads=threads, load=load,
                               configs=read_model_config(model_config_file))
    else:
        if not os.path.isdir(model_root):
            raise FileNotFoundError(f"model base folder '{model_root}' does not exist")
        repo = ModelRepository(model_root, threads=threads, load=load,
                               num_versions=num_versions, versions=versions)
    # FastAPI's own document would describe one catch-all route; ours
    # describes the real contract (serving/openapi.py). Its /docs page loads
    # from a CDN, which a server without internet cannot reach: left out.
    app = FastAPI(title="keras_genart serving", version="1", openapi_url=None, docs_url=None,
                  redoc_url=None)
    app.state.repository = repo
    if model_config_file is not None and config_poll_seconds > 0:
        stop = threading.Event()
        threading.Thread(target=_poll_config, args=(repo, model_config_file,
                                                    config_poll_seconds, stop),
                         daemon=True, name="model config poll").start()
        app.router.on_shutdown.append(stop.set)
    metrics = app.state.metrics = RequestMetrics()

    app.add_middleware(_Accounting, metrics=metrics)

    @app.get("/monitoring/prometheus/metrics")
    async def prometheus():
        return Response(metrics.text(), media_type="text/plain; version=0.0.4")

    def error(status, message, headers=None):
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    def json_bytes(payload, version):
        # orjson writes NumPy arrays without a Python list in between: a batch-64
        # answer (196,608 floats) took ~100 ms through json.dumps, ~10 ms here.
        return Response(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY),
                        media_type="application/json",
                        headers={"X-Model-Version": str(version)})

    def route(path):
        match = _PATH.match(path)
        if not match:
            raise ApiError(404, f"unknown path /v1/models/{path}")
        name, version = match.group("name"), match.group("version")
        if match.group("label") is not None:  # a model config file's version_labels
            version = repo.label_version(name, match.group("label"))
        if match.group("file") is not None:
            return name, version, match.group("file"), "files"
        return name, version, match.group("meta"), match.group("verb")

    def status(name, version):
        served, _ = repo.get(name, version)
        return JSONResponse({"model_version_status": [{
            "version": str(served), "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]},
            headers={"X-Model-Version": str(served)})

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
        return {"models": await run_in_threadpool(repo.model_names)}

    @app.get("/", include_in_schema=False)
    @app.get("/studio", include_in_schema=False)
    async def to_studio():
        return RedirectResponse("/studio/", status_code=307)

    @app.get("/studio/models.json")
    async def studio_models():
        return await run_in_threadpool(model_list)

    @app.get("/studio/{path:path}")
    async def studio(path: str):
        file = _studio_file(path or "index.html")
        if file is None:
            raise ApiError(404, f"unknown studio file /studio/{path}")
        return FileResponse(file, media_type=_MEDIA_TYPES.get(os.path.splitext(file)[1],
                                                              "application/octet-stream"),
                            headers={"Cache-Control": "no-cache"})

    def model_list():
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
                metadata = read_metadata(repo.version_path(name, versions[-1]))
            except (OSError, ValueError) as error:
                metadata = {"error": f"metadata.json: {error}"}
            models.append({"name": name, "versions": [str(v) for v in versions],
                           "latest": str(versions[-1]), "metadata": metadata})
        return {"models": models}

    def model_file(name, version, filename):
        served, generator = repo.get(name, version)
        listed = generator.metadata.get("sha256", {})
        if filename != "metadata.json" and not (filename.endswith(".onnx")
                                                and filename in listed):
            raise ApiError(404, f"no file {filename!r} in version {served} of {name!r}; "
                                f"there are metadata.json and "
                                f"{', '.join(f for f in listed if f.endswith('.onnx'))}")
        return FileResponse(os.path.join(generator.path, filename),
                            media_type=_MEDIA_TYPES[os.path.splitext(filename)[1]],
                            headers={"X-Model-Version": str(served),
                                     "Cache-Control": "no-cache"})

    @app.get("/v1/models/{path:path}")
    async def get(path: str, request: Request):
        name, version, meta, verb = route(path)
        if verb == "files":
            return await run_in_threadpool(model_file, name, version, meta)
        if verb == "sample":
            return await run_in_threadpool(sample, name, version, request.query_params)
        if verb in ("predict", "classify", "regress"):
            raise ApiError(405, f"':{verb}' needs POST", {"Allow": "POST"})
        if verb is not None:
            raise ApiError(404, f"unknown method ':{verb}'")
        # Looking a version up may load it: never on the event loop.
        if meta:
            return await run_in_threadpool(metadata, name, version)
        return await run_in_threadpool(status, name, version)

    def metadata(name, version):
        served, generator = repo.get(name, version)
        return JSONResponse({
            "model_spec": {"name": name, "signature_name": "", "version": str(served)},
            "metadata": {"signature_def": {"signature_def": _signature_defs(generator)}}},
            headers={"X-Model-Version": str(served)})

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
        from keras_genart.latents import check_truncation, label_from_text, resolve_labels

        label = label_from_text(query.get("class"), generator.label_names)
        truncation = query.get("truncation")
        try:
            resolve_labels(label, n, generator.label_names)  # a bad class is a 400 here
            if truncation is not None:
                truncation = check_truncation(truncation)
        except ValueError as error:
            raise ApiError(400, str(error)) from None
        return Response(generator.sample_png(n, seed, label=label, truncation=truncation),
                        media_type="image/png", headers={"X-Model-Version": str(served)})

    @app.post("/v1/models/{path:path}")
    async def post(path: str, request: Request):
        name, version, meta, verb = route(path)
        if verb in ("classify", "regress"):
            raise ApiError(400, f"':{verb}' is not supported; these generators answer "
                                "':predict'")
        if verb in ("sample", "files", None):  # status, metadata, files, :sample: GET
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
        return await run_in_threadpool(predict, bytes(body), name, version)

    def predict(body, name, version):
        served, generator = repo.get(name, version)
        payload = _parse_json(body)
        signature = payload.get("signature_name", "") if isinstance(payload, dict) else ""
        if not isinstance(signature, str):
            raise ApiError(400, "'signature_name' must be a string, got "
                                f"{type(signature).__name__}")
        signature = signature or "serving_default"
        if signature not in SIGNATURES:
            raise ApiError(400, f"Serving signature name: \"{signature}\" not found in "
                                f"signature def; this server has {', '.join(SIGNATURES)}")
        z, labels, row = _parse_inputs(payload, generator.latent_dim, max_batch,
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
        return json_bytes({"predictions": values} if row else {"outputs": values}, served)

    return app


def _studio_file(path):
    """The file of a studio URL path, or None: only files under serving/studio of the
    page's kinds (and the shared latents.js and png.js), no hidden ones, nothing outside."""
    if path in _STUDIO_SHARED:
        return _STUDIO_SHARED[path]
    parts = path.split("/")
    if (any(not part or part.startswith(".") or "\\" in part for part in parts)
            or os.path.splitext(path)[1] not in _MEDIA_TYPES):
        return None
    file = os.path.realpath(os.path.join(STUDIO_DIR, *parts))
    if not file.startswith(os.path.realpath(STUDIO_DIR) + os.sep) or not os.path.isfile(file):
        return None
    return file


def serve(model_root=None, host="127.0.0.1", port=8501, shutdown_timeout=30, **kwargs):
    """Runs the server with uvicorn until interrupted.

    SIGTERM shuts down gracefully: the server stops accepting connections,
    lets the requests in flight finish (for at most `shutdown_timeout`
    seconds) and returns, so that `genart serve` exits with status 0.
    """
    import signal

    import uvicorn

    _limit_malloc_arenas()
    app = create_app(model_root, **kwargs)
    if not access_log.handlers:  # one line per request on stdout, ours not uvicorn's
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    # uvicorn re-raises the signal it shut down on, with the handler found
    # before it started: ours only notes it, so the process exits normally.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: None) if main else None
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=shutdown_timeout)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
