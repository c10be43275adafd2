"""`genart serve`: the REST server of `serving/app.py` run by uvicorn, as a process.

The server speaks TensorFlow Serving's REST contract, backed by onnxruntime
(the routes: `serving/app.py`). This module holds what concerns the process:
glibc's malloc tuning, the access log on stdout, and a graceful shutdown on
SIGTERM. `create_app`, `ModelRepository` and `RequestMetrics` are importable
from here as before the server was split into modules.
"""

import logging
import sys
import threading

from keras_genart.serving.app import create_app
from keras_genart.serving.memory import limit_malloc_arenas
from keras_genart.serving.metrics import RequestMetrics, access_log
from keras_genart.serving.repository import ModelRepository
from keras_genart.serving.requests import ApiError

__all__ = ["ApiError", "ModelRepository", "RequestMetrics", "create_app", "serve"]


def serve(model_root=None, host="127.0.0.1", port=8501, shutdown_timeout=30, **kwargs):
    """Runs the server with uvicorn until interrupted.

    SIGTERM shuts down gracefully: the server stops accepting connections,
    lets the requests in flight finish (for at most `shutdown_timeout`
    seconds) and returns, so that `genart serve` exits with status 0.

    Args:
        model_root: str. The base folder `genart export --out` wrote (or None
            with `model_config_file` in `kwargs`).
        host: str. The address to listen on. Defaults to "127.0.0.1".
        port: int. The port to listen on. Defaults to 8501 (TF Serving's REST port).
        shutdown_timeout: float. Most seconds the requests in flight get to
            finish at shutdown. Defaults to 30.
        **kwargs: the other arguments of `create_app`.
    """
    import signal

    import uvicorn

    limit_malloc_arenas()
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
