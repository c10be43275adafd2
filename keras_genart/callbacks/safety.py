"""Crash safety: atomic per-epoch checkpoints to resume from, and a NaN guard."""

import glob
import json
import math
import os

import keras

from keras_genart.errors import NonFiniteLossError
from keras_genart.imaging import atomic_write_bytes

STATE_FILE = "state.json"


def read_checkpoint_state(checkpoint_dir):
    """The last completed epoch's record, or None when there is none.

    Returns:
        dict with `epoch` (epochs completed) and `path` (the `.keras` file).
    """
    path = os.path.join(checkpoint_dir, STATE_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        state = json.load(f)
    state["path"] = os.path.join(checkpoint_dir, state["checkpoint"])
    if not os.path.exists(state["path"]):
        raise FileNotFoundError(
            f"{path} names checkpoint {state['checkpoint']}, which is missing"
        )
    return state


def save_model_atomically(model, path):
    """`model.save(path)` through a temporary file and a rename."""
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".tmp-{os.getpid()}-{name}")
    refresh = getattr(model, "refresh_sampling_statistics", None)
    if refresh is not None:
        refresh()  # the file holds the statistics its pictures are made with
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class ResumableCheckpoint(keras.callbacks.Callback):
    """Saves the whole model (with optimizer state) after every epoch.

    Each epoch goes to `checkpoint_dir/epoch-NNNN.keras` through a temporary
    file and a rename; only then does `state.json` (also replaced atomically)
    point at it, and older checkpoints are removed. Killed at any moment,
    the folder still holds a complete checkpoint that `state.json` names:
    resume with `keras.saving.load_model(state["path"])` and
    `fit(..., initial_epoch=state["epoch"])`.

    Args:
        checkpoint_dir: str. Folder of the checkpoints.
        keep: int. Checkpoints kept. Defaults to 1.
    """

    def __init__(self, checkpoint_dir, keep=1):
        super().__init__()
        self.checkpoint_dir = checkpoint_dir
        self.keep = max(1, int(keep))

    @property
    def latest_path(self):
        state = read_checkpoint_state(self.checkpoint_dir)
        return state["path"] if state else None

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.checkpoint_dir, exist_ok=True)
        name = f"epoch-{epoch + 1:04d}.keras"
        save_model_atomically(self.model, os.path.join(self.checkpoint_dir, name))
        state = {"epoch": epoch + 1, "checkpoint": name,
                 "logs": {k: float(v) for k, v in (logs or {}).items()}}
        atomic_write_bytes(os.path.join(self.checkpoint_dir, STATE_FILE),
                           json.dumps(state, indent=2).encode())
        old = sorted(glob.glob(os.path.join(self.checkpoint_dir, "epoch-*.keras")))
        for path in old[: -self.keep]:
            if os.path.basename(path) != name:
                os.remove(path)


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops training at the first NaN or infinite loss, saying which and where.

    Args:
        checkpoint_dir: str. Where `ResumableCheckpoint` keeps the last good
            weights, named in the message. Defaults to None.
    """

    def __init__(self, checkpoint_dir=None):
        super().__init__()
        self.checkpoint_dir = checkpoint_dir
        self._epoch = 0
        self._step = 0

    def on_train_begin(self, logs=None):
        self._step = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        for name, value in (logs or {}).items():
            value = float(value)
            if not math.isfinite(value):
                self.model.stop_training = True
                raise NonFiniteLossError(
                    f"training stopped: {name} is {value} at epoch {self._epoch + 1}, "
                    f"step {batch + 1} ({self._step} steps into this run); "
                    + self._where_good()
                )

    def _where_good(self):
        state = (read_checkpoint_state(self.checkpoint_dir)
                 if self.checkpoint_dir else None)
        if state is None:
            return "no good weights were saved yet (no epoch completed)"
        return f"the last good weights (epoch {state['epoch']}) are in {state['path']}"
