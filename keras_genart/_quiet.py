"""Loading TensorFlow without its start-up noise (the CLI and the notebooks use it)."""

import os
import sys


def verbose():
    """True when GENART_VERBOSE (or `genart --verbose`) asks for every log line."""
    return os.environ.get("GENART_VERBOSE", "") not in ("", "0")


def quiet_tensorflow():
    """Loads TensorFlow (where installed) with its start-up lines silenced.

    TensorFlow's C++ start-up lines (oneDNN, "Could not find cuda drivers", a
    red `failed call to cuInit` on machines without a GPU) are written before
    absl's logging is set up and ignore TF_CPP_MIN_LOG_LEVEL, so stderr's file
    descriptor points at /dev/null while TensorFlow loads and finds its
    devices. Errors still raise as usual. `--verbose` or GENART_VERBOSE=1
    keeps everything.
    """
    if verbose():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import importlib.util

    # Keras loads TensorFlow where it is installed on the JAX backend too
    # (for its data adapters), so this is done whatever the backend.
    try:
        if "tensorflow" in sys.modules or importlib.util.find_spec("tensorflow") is None:
            return
    except (ImportError, ValueError):
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # where the cuInit line is written
    except ImportError:
        pass  # what needs TensorFlow says so itself, with stderr back
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
