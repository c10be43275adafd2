"""`RandomAccessImages` indexes like the NumPy array it stands for."""

import pickle

import numpy as np
import pytest

from keras_genart.data.arrays import RandomAccessImages, chunks


class _Counting(RandomAccessImages):
    """Pictures held in memory, counting what was read (a stand-in for shards on disk)."""

    def __init__(self, array):
        super().__init__(len(array), array.shape[1])
        self.array, self.reads = array, []

    def read(self, indices):
        self.reads.append(indices.tolist())
        return self.array[indices]


@pytest.fixture
def pictures():
    array = np.random.default_rng(0).integers(0, 256, (7, 4, 4, 3), dtype=np.uint8)
    return array, _Counting(array)


@pytest.mark.parametrize("key", [3, -1, slice(1, 6, 2), slice(None), [5, 0, 5],
                                 np.array([2, 1]), np.arange(7) % 2 == 0, []])
def test_indexing_matches_numpy(pictures, key):
    array, images = pictures
    expected = array[np.asarray(key, np.int64) if isinstance(key, list) else key]
    np.testing.assert_array_equal(images[key], expected)
    assert images[key].dtype == np.uint8


def test_reads_only_what_is_asked(pictures):
    array, images = pictures
    images[[4, 2]]
    images[5]
    assert images.reads == [[4, 2], [5]]


@pytest.mark.parametrize("key", [7, -8, [0, 7], (0, 1), np.array([0.5]), np.ones(3, bool)])
def test_bad_indices_are_index_errors(pictures, key):
    with pytest.raises(IndexError):
        pictures[1][key]


def test_shape_len_asarray_chunks_and_pickle(pictures):
    array, images = pictures
    assert images.shape == array.shape and len(images) == 7 and images.ndim == 4
    np.testing.assert_array_equal(np.asarray(images), array)
    got = [(start, chunk.shape[0]) for start, chunk in chunks(images, 3)]
    assert got == [(0, 3), (3, 3), (6, 1)]
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(images))[2], array[2])
