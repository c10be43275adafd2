"""What `genart serve` reports about the requests it answers: Prometheus figures and an
access log line per request."""

import logging
import threading
import time

from keras_genart.serving.requests import MODEL_PATH

access_log = logging.getLogger("keras_genart.serving.access")


# The model label of requests for a model that is not served (made-up names, models
# that failed to load): one series for them all, however many names clients invent.
UNKNOWN_MODEL = "unknown"


class RequestMetrics:
    """Request counts and latency histograms in Prometheus' text format.

    Labels as TF Serving's own metrics: model, version (the one that answered),
    API (`predict`, `sample`, `metadata`, `status`, or `other`) and status code.
    Served at `/monitoring/prometheus/metrics`.

    Only served models get series of their own: requests for any other name
    count under the model `unknown`, and a scrape drops the series of versions
    and models no longer loaded, so the number of series stays bounded by what
    the server serves, whatever clients ask for.

    Args:
        served: callable. `served(name)` -> the versions of model `name` loaded
            now (`ModelRepository.loaded_versions`); None labels every model as
            named. Defaults to None.
    """

    BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

    def __init__(self, served=None):
        self._served = served
        self._lock = threading.Lock()
        self._counts = {}      # (model, version, api, status) -> requests
        self._latency = {}     # (model, version, api) -> [bucket counts..., sum, count]
        self.in_flight = 0     # requests begun and not answered yet

    def begin(self):
        """Counts a request in flight until `observe` counts its answer."""
        with self._lock:
            self.in_flight += 1

    def _loaded(self, model):
        """The versions of `model` loaded now, as strings (every one without `served`)."""
        return None if self._served is None else {str(v) for v in self._served(model)}

    def _label(self, model, version):
        """`(model, version)` labels of a request: served models only."""
        loaded = self._loaded(model) if model else None
        if loaded is None:
            return model, version
        if not loaded:
            return UNKNOWN_MODEL, ""
        return model, version if version in loaded else ""

    def observe(self, model, version, api, status, seconds):
        """Counts one answered request (begun with `begin`).

        Args:
            model: str. The model named in the path ("" for other paths).
            version: str. The version that answered ("" when none did).
            api: str. `predict`, `sample`, `metadata`, `status` or `other`.
            status: int. The HTTP status code.
            seconds: float. The time from request to answer.
        """
        model, version = self._label(model, version)  # outside our lock: it takes the repo's
        with self._lock:
            self.in_flight -= 1
            key = (model, version, api, str(status))
            self._counts[key] = self._counts.get(key, 0) + 1
            hist = self._latency.setdefault((model, version, api),
                                            [0] * len(self.BUCKETS) + [0.0, 0])
            for i, bound in enumerate(self.BUCKETS):
                if seconds <= bound:
                    hist[i] += 1
            hist[-2] += seconds
            hist[-1] += 1

    def _current(self):
        """Copies of the counts and histograms, less the series of versions and models
        no longer loaded (dropped for good)."""
        with self._lock:
            models = {key[0] for key in self._latency}
        loaded = {m: self._loaded(m) for m in models if m not in ("", UNKNOWN_MODEL)}

        def live(key):
            versions = loaded.get(key[0])
            return versions is None or (bool(versions) and key[1] in versions | {""})

        with self._lock:
            for table in (self._counts, self._latency):
                for key in [k for k in table if not live(k)]:
                    del table[key]
            return dict(self._counts), {k: list(v) for k, v in self._latency.items()}

    def text(self):
        """Every series, in Prometheus' text exposition format (version 0.0.4)."""
        def labels(**values):
            return ",".join(f'{k}="{_escape_label(v)}"' for k, v in values.items())

        counts, latency = self._current()  # formatted outside the lock requests take
        lines = ["# HELP genart_requests_total Requests answered, by model, version, API "
                 "and status code.", "# TYPE genart_requests_total counter"]
        for (model, version, api, status), n in sorted(counts.items()):
            lines.append(f"genart_requests_total{{"
                         f"{labels(model=model, version=version, api=api, status=status)}"
                         f"}} {n}")
        lines += ["# HELP genart_request_latency_seconds Time from request to answer.",
                  "# TYPE genart_request_latency_seconds histogram"]
        for (model, version, api), hist in sorted(latency.items()):
            common = labels(model=model, version=version, api=api)
            for bound, n in zip(self.BUCKETS, hist):
                lines.append(f'genart_request_latency_seconds_bucket{{{common},'
                             f'le="{bound:g}"}} {n}')
            lines.append(f'genart_request_latency_seconds_bucket{{{common},le="+Inf"}} '
                         f"{hist[-1]}")
            lines.append(f"genart_request_latency_seconds_sum{{{common}}} {hist[-2]:.6f}")
            lines.append(f"genart_request_latency_seconds_count{{{common}}} {hist[-1]}")
        return "\n".join(lines) + "\n"


class AccountingMiddleware:
    """ASGI middleware: one access line per request and the Prometheus figures.

    Plain ASGI rather than Starlette's `@app.middleware("http")`, which cost
    about 0.3 ms a request here. The model label is the one in the path, the
    version the one that answered (`X-Model-Version`).

    Args:
        app: the ASGI application it wraps.
        metrics: RequestMetrics. Where each request is counted.
    """

    def __init__(self, app, metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        answer = {"status": 500, "version": ""}
        self.metrics.begin()

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
            model, api = api_of(path)
            version = answer["version"]
            self.metrics.observe(model, version, api, answer["status"], seconds)
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_log.info('%s "%s %s" %d %.1f ms%s', client[0] if client else "-",
                                scope.get("method", ""), path, answer["status"],
                                seconds * 1000, f" version={version}" if version else "")


def _escape_label(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def api_of(path):
    """(model, API) of a request path, for logs and metrics."""
    if not path.startswith("/v1/models/"):
        return "", "other"
    match = MODEL_PATH.match(path.removeprefix("/v1/models/"))
    if not match:
        return "", "other"
    verb = match.group("verb")
    api = verb if verb in ("predict", "sample") else "other" if verb else (
        "metadata" if match.group("meta") else "status")
    return match.group("name"), api
