"""TensorBoard event files with no TensorFlow (and no tensorboard package) needed.

TensorBoard reads `events.out.tfevents.*` files: TFRecord records (length,
masked CRC-32C, payload, masked CRC-32C) of `Event` protocol buffers. The few
messages written here (scalars and PNG images) are encoded by hand below, so
logging works the same under every Keras backend and on a JAX-only machine;
`tensorboard` is only needed to look at the logs.
"""

import io
import os
import socket
import struct
import time

import keras
import numpy as np


def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def masked_crc32c(data):
    """TFRecord's checksum: CRC-32C (Castagnoli), rotated and offset."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# --- protocol buffer wire format, for the fields of event.proto / summary.proto ---
def _varint(value):
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _field(number, wire_type, payload):
    return _varint(number << 3 | wire_type) + payload


def _bytes_field(number, data):
    return _field(number, 2, _varint(len(data)) + data)


def _event(step, summary_values=None, file_version=None):
    """An `Event`: wall_time (1), step (2), file_version (3) or summary (5)."""
    event = _field(1, 1, struct.pack("<d", time.time())) + _field(2, 0, _varint(int(step)))
    if file_version is not None:
        event += _bytes_field(3, file_version.encode())
    if summary_values:
        event += _bytes_field(5, b"".join(_bytes_field(1, v) for v in summary_values))
    return event


def _scalar_value(tag, value):
    """`Summary.Value` with tag (1) and simple_value (2, float)."""
    return _bytes_field(1, tag.encode()) + _field(2, 5, struct.pack("<f", float(value)))


def _image_value(tag, height, width, channels, png):
    """`Summary.Value` with tag (1) and image (4): height, width, colorspace, PNG bytes."""
    image = (_field(1, 0, _varint(height)) + _field(2, 0, _varint(width))
             + _field(3, 0, _varint(channels)) + _bytes_field(4, png))
    return _bytes_field(1, tag.encode()) + _bytes_field(4, image)


class SummaryWriter:
    """Appends scalar and image summaries to one event file in `log_dir`.

    Args:
        log_dir: str. Folder of the event file (made if missing).

    Example:
    >>> writer = SummaryWriter("runs/x/logs/train")
    >>> writer.scalar("epoch_loss", 0.25, step=0)
    >>> writer.close()
    """

    def __init__(self, log_dir):
        os.makedirs(log_dir, exist_ok=True)
        self.path = os.path.join(
            log_dir, f"events.out.tfevents.{time.time():.6f}.{socket.gethostname()}"
                     f".{os.getpid()}.keras_genart")
        self._file = open(self.path, "wb")
        self._record(_event(0, file_version="brain.Event:2"))

    def _record(self, data):
        header = struct.pack("<Q", len(data))
        self._file.write(header + struct.pack("<I", masked_crc32c(header)) + data
                         + struct.pack("<I", masked_crc32c(data)))

    def scalar(self, tag, value, step):
        """Logs a float under `tag` at `step`."""
        self._record(_event(step, [_scalar_value(tag, value)]))

    def image(self, tag, image, step):
        """Logs an `(h, w, c)` uint8 image under `tag` at `step` (as PNG)."""
        from PIL import Image

        image = np.asarray(image, np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(
            buffer, format="PNG")
        self._record(_event(step, [_image_value(tag, image.shape[0], image.shape[1],
                                                image.shape[2], buffer.getvalue())]))

    def flush(self):
        self._file.flush()

    def close(self):
        if not self._file.closed:
            self._file.close()


class EpochSummaries(keras.callbacks.Callback):
    """Logs every value of `logs` to TensorBoard after each epoch, and every
    `update_freq` steps.

    Tags are `epoch_NAME` in `log_dir/train` at step `epoch` (0-based), the
    tags and steps of `keras.callbacks.TensorBoard`, so sample grids
    (`ImageGridCallback`, same step) and scores line up with them; with
    `update_freq`, also `batch_NAME` (the running averages of the epoch so
    far) at the global step (1-based, counted from the first epoch of the
    run, resumes included). Works under every backend, with or without
    TensorFlow.

    Args:
        log_dir: str. TensorBoard log folder.
        update_freq: int. Steps between `batch_*` points. Defaults to None
            (epochs only).
    """

    def __init__(self, log_dir, update_freq=None):
        super().__init__()
        self.log_dir = log_dir
        self.update_freq = int(update_freq) if update_freq else None
        self._writer = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        if self._writer is None:
            self._writer = SummaryWriter(os.path.join(self.log_dir, "train"))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        steps = (self.params or {}).get("steps")
        if not self.update_freq or not steps:
            return
        step = self._epoch * steps + batch + 1
        if step % self.update_freq and batch + 1 != steps:
            return
        for name, value in (logs or {}).items():
            self._writer.scalar(f"batch_{name}", float(value), step)

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

    For tests and scripts: reads the event files with the `tensorboard`
    package's own loader (needs `tensorboard`, not TensorFlow).
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
