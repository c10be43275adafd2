"""Batches for training: shuffled by index, the same on every backend, resumable exactly."""

import numpy as np

from keras_genart.errors import UserInputError


class ImageBatches:
    """Training batches of an `ImageData`, as a function of the global step.

    Pass `p` over the data visits the images in the order
    `numpy.random.default_rng([seed, p]).permutation(n)`, `batch_size` at a
    time (the last incomplete batch of a pass is dropped, so shapes are
    fixed for XLA and BatchNorm). Batch `s` is therefore known without
    drawing batches `0 .. s-1`: a run resumed after `s` steps continues with
    exactly the batches an uninterrupted run would have seen. Images are
    scaled to float32 in [-1, 1].

    Args:
        data: `keras_genart.data.ImageData`.
        batch_size: int. Images per batch; at most the number of images.
        shuffle: bool. Defaults to True.
        seed: int. Shuffle seed. Defaults to 0.
        shard: `(index, count)`. This process's slice of each (global)
            batch, for multi-process training. Defaults to `(0, 1)`.
        balanced: bool. Class-balanced passes for labelled data: every
            position of a pass draws a class uniformly (a shuffled, equal
            split of the pass), then the next image of that class from a
            shuffled cycle through it, so rare classes come as often as
            common ones (their images repeat more). Defaults to False.
    """

    def __init__(self, data, batch_size, shuffle=True, seed=0, shard=(0, 1), balanced=False):
        if int(batch_size) < 1:
            raise UserInputError(f"batch size must be at least 1, got {batch_size}")
        if data.num_images < batch_size:
            raise UserInputError(
                f"{data.summary['source']} has {data.num_images} usable images, fewer "
                f"than the batch size {batch_size}; lower --batch-size or add images"
            )
        self.shard_index, self.shard_count = (int(v) for v in shard)
        if self.shard_count < 1 or not 0 <= self.shard_index < self.shard_count:
            raise ValueError(f"shard must be (index, count) with 0 <= index < count, got {shard}")
        if batch_size % self.shard_count:
            raise UserInputError(
                f"batch size {batch_size} does not split evenly over {self.shard_count} "
                "processes; choose a multiple of the process count")
        if balanced and data.labels is None:
            raise UserInputError(f"{data.summary['source']} has no classes to balance; "
                                 "class-balanced batches need labelled data")
        self.images = data.images
        self.labels = data.labels
        self.balanced = bool(balanced)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.steps_per_pass = len(self.images) // self.batch_size
        self._order = (None, None)

    def _pass_order(self, index):
        if self._order[0] != index:
            n = len(self.images)
            rng = np.random.default_rng([self.seed, index])
            if self.balanced:
                order = self._balanced_order(rng)
            else:
                order = rng.permutation(n) if self.shuffle else np.arange(n)
            self._order = (index, order)
        return self._order[1]

    def _balanced_order(self, rng):
        """A pass of `n` images in which every present class fills an equal share."""
        n = len(self.images)
        members = [np.flatnonzero(self.labels == c) for c in np.unique(self.labels)]
        classes = rng.permutation(np.arange(n) % len(members))
        order = np.empty(n, np.int64)
        for c, images in enumerate(members):
            slots = np.flatnonzero(classes == c)
            order[slots] = np.resize(rng.permutation(images), len(slots))
        return order

    def batch_at(self, step):
        """The batch of global step `step`: `(images,)` or `(images, labels)`."""
        pass_index, offset = divmod(int(step), self.steps_per_pass)
        order = self._pass_order(pass_index)
        chosen = order[offset * self.batch_size:(offset + 1) * self.batch_size]
        local = self.batch_size // self.shard_count
        chosen = chosen[self.shard_index * local:(self.shard_index + 1) * local]
        images = self.images[chosen].astype(np.float32) / 127.5 - 1.0
        if self.labels is None:
            return (images,)  # Keras takes a generator's batches as tuples
        return images, self.labels[chosen]

    def iterate(self, start_step=0, steps=None):
        """Yields batches from global step `start_step`; forever when `steps` is None."""
        step = int(start_step)
        end = None if steps is None else step + int(steps)
        while end is None or step < end:
            yield self.batch_at(step)
            step += 1


def make_dataset(data, batch_size, shuffle=True, seed=0, repeat=True, start_step=0,
                 shard=(0, 1), balanced=False):
    """Batches an `ImageData` for `fit`: a generator of NumPy batches.

    Works with every Keras backend and needs no TensorFlow (see
    `ImageBatches` for the order of the images).

    Args:
        data: `keras_genart.data.ImageData`.
        batch_size: int. Images per batch; at most the number of images.
        shuffle: bool. Defaults to True.
        seed: int. Shuffle seed. Defaults to 0.
        repeat: bool. Repeat forever (fit then needs `steps_per_epoch`);
            otherwise one pass. Defaults to True.
        start_step: int. Global step of the first batch: a resumed run
            passes the steps it has done. Defaults to 0.
        shard: `(index, count)`: yield only this process's slice of each
            batch (multi-process JAX training). Defaults to `(0, 1)`.
        balanced: bool. Class-balanced passes (`ImageBatches`). Defaults to
            False.

    Returns:
        A generator of `(images,)` tuples, float32 `(batch, s, s, 3)` in
        [-1, 1], or of `(images, labels)` when the data has classes.
    """
    batches = ImageBatches(data, batch_size, shuffle=shuffle, seed=seed, shard=shard,
                           balanced=balanced)
    return batches.iterate(start_step, None if repeat else batches.steps_per_pass)
