"""`genart serve`: the REST server of `serving/app.py` run by uvicorn, as a process.

The server speaks TensorFlow Serving's REST contract, backed by onnxruntime
(the routes: `serving/app.py`). This module holds what concerns the process:
glibc's malloc tuning, the access log on stdout, and a graceful shutdown on
SIGTERM. `create_app`, `ModelRepository` and `RequestMetrics` are importable
from here as before the server was split into modules.
"""

import logging
import os
import sys
import threading
import time

import uvicorn
from uvicorn.main import STARTUP_FAILURE

from keras_genart.serving.app import create_app
from keras_genart.serving.memory import limit_malloc_arenas
from keras_genart.serving.metrics import RequestMetrics, access_log
from keras_genart.serving.repository import ModelRepository
from keras_genart.serving.requests import ApiError

__all__ = ["ApiError", "ModelRepository", "RequestMetrics", "create_app", "serve"]

log = logging.getLogger("keras_genart.serving")


def serve(model_root=None, host="127.0.0.1", port=8501, shutdown_timeout=30, **kwargs):
    """Runs the server with uvicorn until interrupted.

    SIGTERM shuts down gracefully: the server stops accepting connections,
    lets the requests in flight finish (for at most `shutdown_timeout`
    seconds) and returns, so that `genart serve` exits with status 0. Requests
    still running at that deadline are abandoned: the process logs how many
    and exits at once, with status 0 (their worker threads cannot be stopped,
    and Python would otherwise wait for them at exit).

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
    # uvicorn's own deadline comes later than ours: at ours, requests still running are
    # abandoned in one line of log, not cancelled one traceback each.
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=shutdown_timeout + 5)
    server = _DeadlineServer(config, shutdown_timeout, app.state.metrics, exit_late=main)
    try:
        server.run()
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
    if not server.started:  # as uvicorn.run: the port or the application failed
        sys.exit(STARTUP_FAILURE)
    server.wait_for_requests()


class _DeadlineServer(uvicorn.Server):
    """uvicorn's Server, whose process ends at most `shutdown_timeout` seconds after the
    shutdown began.

    uvicorn's own deadline cancels the requests' tasks but not the worker threads
    that run them (a thread cannot be stopped), and Python waits for every such
    thread at exit: a `genart serve` with requests stuck in them (truncation 1e-9,
    before it had a floor) was still alive 38 minutes after SIGTERM. At the
    deadline the process ends instead (`os._exit`), having logged how many
    requests it abandoned.

    Args:
        config: uvicorn.Config.
        shutdown_timeout: float. Seconds from the start of the shutdown.
        metrics: RequestMetrics. Counts the requests in flight.
        exit_late: bool. End the process at the deadline (only when `serve` owns
            the process: it runs in the main thread).
    """

    def __init__(self, config, shutdown_timeout, metrics, exit_late):
        super().__init__(config)
        self.shutdown_timeout = shutdown_timeout
        self.metrics = metrics
        self.exit_late = exit_late
        self.deadline = None
        self.finished = threading.Event()

    async def shutdown(self, sockets=None):
        self.deadline = time.monotonic() + self.shutdown_timeout
        if self.exit_late:
            threading.Thread(target=self.watch, daemon=True, name="shutdown deadline").start()
        await super().shutdown(sockets)

    def watch(self):
        """Ends the process at the deadline unless the requests finished before."""
        if not self.finished.wait(max(0.0, self.deadline - time.monotonic())):
            _abandon(self.metrics.in_flight, self.shutdown_timeout)

    def wait_for_requests(self):
        """After `run`: waits until the deadline for the threads of requests still
        running (Python would wait for them at exit, without one)."""
        if self.deadline is None:
            return
        others = [t for t in threading.enumerate()
                  if t is not threading.current_thread() and not t.daemon]
        for thread in others:
            thread.join(max(0.0, self.deadline - time.monotonic()))
        if not any(thread.is_alive() for thread in others):
            self.finished.set()
        elif self.exit_late:
            self.watch()


def _abandon(requests, seconds):
    """Ends the process now, with status 0, saying what it leaves behind."""
    log.error("abandoned %d request(s) still running %g s after the shutdown began",
              requests, seconds)
    for handler in [*log.handlers, *access_log.handlers, logging.lastResort]:
        if handler is not None:
            handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
