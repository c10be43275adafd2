"""Sample grids from a fixed latent batch: PNG per epoch and TensorBoard images."""

import os

import keras

from keras_genart import imaging
from keras_genart._version import __version__
from keras_genart.callbacks.summaries import SummaryWriter


class ImageGridCallback(keras.callbacks.Callback):
    """Writes a grid of samples after every `every` epochs.

    The latents are fixed (drawn once from `seed`), so successive grids show
    the same "points" as the model learns. Each grid goes to
    `out_dir/epoch-NNNN.png` (NNNN = epochs completed; with provenance in PNG
    text chunks) and, when `log_dir` is given, to a TensorBoard image
    `"samples"` in `log_dir/train` at step `epoch` (0-based), the step of the
    epoch's scalars in `EpochSummaries` and `keras.callbacks.TensorBoard`.
    No TensorFlow needed.

    Works for any model with the keras_genart protocol (`generate_from_latents`,
    `latent_dim`).

    Args:
        out_dir: str. Folder of the PNG files; None to write no files.
        log_dir: str. TensorBoard log folder. Defaults to None.
        n: int. Images per grid. Defaults to 64.
        seed: int. Seed of the fixed latents. Defaults to 0.
        every: int. Write after every `every` epochs. Defaults to 1.
        metadata: dict. Extra PNG text chunks. Defaults to None.
    """

    def __init__(self, out_dir, log_dir=None, n=64, seed=0, every=1, metadata=None):
        super().__init__()
        self.out_dir = out_dir
        self.log_dir = log_dir
        self.n = int(n)
        self.seed = int(seed)
        self.every = max(1, int(every))
        self.metadata = dict(metadata or {})
        self._writer = None
        self._latents = None
        self.last_path = None

    def on_train_begin(self, logs=None):
        from keras_genart.latents import sample_latents

        self._latents = sample_latents(self.n, self.model.latent_dim, self.seed)
        if self.out_dir:
            os.makedirs(self.out_dir, exist_ok=True)
        if self.log_dir and self._writer is None:
            self._writer = SummaryWriter(os.path.join(self.log_dir, "train"))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        grid = imaging.make_grid(self.model.generate_from_latents(self._latents))
        if self.out_dir:
            self.last_path = os.path.join(self.out_dir, f"epoch-{epoch + 1:04d}.png")
            imaging.save_png(self.last_path, grid, {
                "Software": f"keras_genart {__version__}",
                "keras_genart.model_type": getattr(self.model, "model_type", ""),
                "keras_genart.epoch": epoch + 1,
                "keras_genart.seed": self.seed,
                **self.metadata,
            })
        if self._writer is not None:
            self._writer.image("samples", grid, step=epoch)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
