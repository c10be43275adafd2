"""TensorBoard event files without TensorFlow: scalars and images per epoch.

Writes the TFRecord/`Event` format with the protocol buffers and record
writer that the `tensorboard` package ships (the way PyTorch's
`SummaryWriter` does), so logging works the same under every Keras backend
and on machines without TensorFlow.
"""

import io
import os
import socket
import time

import keras
import numpy as np


class SummaryWriter:
    """Appends scalar and image summaries to one event file in `log_dir`.

    Args:
        log_dir: str. Folder of the event file (made if missing).
    """

    def __init__(self, log_dir):
        from tensorboard.summary.writer.record_writer import RecordWriter

        os.makedirs(log_dir, exist_ok=True)
        self.path = os.path.join(
            log_dir, f"events.out.tfevents.{time.time():.6f}.{socket.gethostname()}"
                     f".{os.getpid()}.keras_genart")
        self._file = open(self.path, "wb")
        self._records = RecordWriter(self._file)
        self._write(file_version="brain.Event:2")

    def _write(self, summary=None, step=0, file_version=None):
        from tensorboard.compat.proto import event_pb2

        event = event_pb2.Event(wall_time=time.time(), step=int(step))
        if file_version:
            event.file_version = file_version
        if summary is not None:
            event.summary.CopyFrom(summary)
        self._records.write(event.SerializeToString())

    def scalar(self, tag, value, step):
        """Logs a float under `tag` at `step`."""
        from tensorboard.compat.proto import summary_pb2

        self._write(summary_pb2.Summary(value=[summary_pb2.Summary.Value(
            tag=tag, simple_value=float(value))]), step)

    def image(self, tag, image, step):
        """Logs an `(h, w, 3)` uint8 image under `tag` at `step` (as PNG)."""
        from PIL import Image
        from tensorboard.compat.proto import summary_pb2

        image = np.asarray(image, np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        encoded = summary_pb2.Summary.Image(
            height=image.shape[0], width=image.shape[1], colorspace=image.shape[2],
            encoded_image_string=buffer.getvalue())
        self._write(summary_pb2.Summary(value=[summary_pb2.Summary.Value(
            tag=tag, image=encoded)]), step)

    def flush(self):
        self._file.flush()

    def close(self):
        if not self._file.closed:
            self._file.close()


class EpochSummaries(keras.callbacks.Callback):
    """Logs every value of `logs` after each epoch to TensorBoard.

    Tags are `epoch_NAME` in `log_dir/train` at step `epoch` (0-based), the
    tags and steps of `keras.callbacks.TensorBoard`, so sample grids
    (`ImageGridCallback`, same step) and scores line up with them. Works
    under every backend, with or without TensorFlow.

    Args:
        log_dir: str. TensorBoard log folder.
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = log_dir
        self._writer = None

    def on_train_begin(self, logs=None):
        if self._writer is None:
            self._writer = SummaryWriter(os.path.join(self.log_dir, "train"))

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            self._writer.scalar(f"epoch_{name}", float(value), epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def read_events(log_dir):
    """`[(tag, step, value)]` of every scalar and image (value = PNG bytes) under `log_dir`.

    For tests and scripts: reads the event files with `tensorboard`'s own
    loader, no TensorFlow needed.
    """
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2

    found = []
    for root, _, files in os.walk(log_dir):
        for name in sorted(files):
            if "tfevents" not in name:
                continue
            for record in RawEventFileLoader(os.path.join(root, name)).Load():
                event = event_pb2.Event.FromString(record)
                for value in event.summary.value:
                    kind = value.WhichOneof("value")
                    payload = (value.simple_value if kind == "simple_value"
                               else value.image.encoded_image_string if kind == "image"
                               else None)
                    found.append((value.tag, event.step, payload))
    return found
