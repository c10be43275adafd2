"""Pictures read on demand, indexed like a NumPy array: what a data set too big for memory looks like.

`ImageData.images` is either a uint8 NumPy array `(n, s, s, 3)` or a `RandomAccessImages`
(a prepared data set's shards, a TFDS random-access source). Everything that reads
training pictures — the batches, the gray check, the evaluation — indexes it with an
int, a slice or an array of indices, so both kinds go through the same code and only
the pictures asked for are read.
"""

import numpy as np


class RandomAccessImages:
    """A read-only, NumPy-indexable sequence of uint8 RGB squares `(n, s, s, 3)`.

    Subclasses implement `read(indices)`. Indexing with an int gives one
    picture `(s, s, 3)`; with a slice, a list or an integer array (any order,
    repeats allowed) gives `(len, s, s, 3)` in that order; a boolean mask of
    length `n` selects like NumPy. Subclasses must be picklable without their
    open files (data loader workers reopen them), see `__getstate__`.

    Args:
        count: int. Number of pictures.
        image_size: int. Side of the squares.
    """

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(self, count, image_size):
        self.shape = (int(count), int(image_size), int(image_size), 3)

    def read(self, indices):
        """The pictures at `indices` (an int64 array in [0, n)), in that order."""
        raise NotImplementedError

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self.read(self._checked(np.array([key], np.int64)))[0]
        if isinstance(key, slice):
            indices = np.arange(*key.indices(len(self)), dtype=np.int64)
        elif isinstance(key, tuple):
            raise IndexError(f"{type(self).__name__} takes one index (picture), got {key!r}")
        else:
            indices = np.asarray(key)
            if indices.dtype == bool:
                if indices.shape != (len(self),):
                    raise IndexError(f"boolean index of shape {indices.shape} for {len(self)} pictures")
                indices = np.flatnonzero(indices)
            elif indices.ndim != 1 or (indices.size and not np.issubdtype(indices.dtype, np.integer)):
                raise IndexError(f"pictures are indexed by ints, slices or 1-D integer arrays, got {key!r}")
            indices = self._checked(indices.astype(np.int64))
        if not len(indices):
            return np.zeros((0, *self.shape[1:]), np.uint8)
        return self.read(indices)

    def _checked(self, indices):
        n = len(self)
        if indices.size and (indices.min() < -n or indices.max() >= n):
            raise IndexError(f"picture index out of range for {n} pictures")
        return np.where(indices < 0, indices + n, indices)

    def __array__(self, dtype=None, copy=None):
        # np.asarray(images) reads every picture: correct, but the whole set in memory.
        array = self[:]
        return array if dtype is None else array.astype(dtype)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


def chunks(images, size):
    """Yields `(start, uint8 array)` of at most `size` pictures: bounded memory for any set."""
    size = max(1, int(size))
    for start in range(0, len(images), size):
        yield start, np.asarray(images[start:start + size])


__all__ = ["RandomAccessImages", "chunks"]
