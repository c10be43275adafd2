"""A prepared data set on disk, and the reader that trains from it.

A prepared set is one folder (written by `keras_genart.data.prepare.prepare`):

- `pictures-00000.array_record`, ...: ArrayRecord shards (`group_size:1`, so any
  picture is one seek), each holding `shard_size` pictures in the order of the
  source (the last one fewer). A record is one picture, encoded as the manifest
  says.
- `labels.npy`: the int32 class index of every picture, when the set has classes:
  one small file read whole at open, because class-balanced batches need every
  label before the first picture is read.
- `manifest.json`, written last and atomically: what the set is (source, image
  size, count, classes and their counts, gray or not, the skip report) and what
  its files are (each shard's record count, size and sha256, a content hash over
  all of them). A folder without it is never taken for a data set.

Records are raw uint8 `(s, s, 3)` bytes, uncompressed. `benchmarks/prepare_format.py`
measured raw against PNG records (2,000 built-in pictures, AMD EPYC, 2 shared cores):
reading and decoding random batches of 64 through `PreparedImages` took 40 us a picture
raw against 135 us PNG at 32 px, and 82 against 357 us at 128 px (3.4-4.4x), and
preparing was 12-14% faster raw; PNG took 2x less disk at 32 px and 7x less at 128 px
(the art is flat colour). Training decodes every picture on every epoch and the disk
is paid once, so the records are raw.
"""

import hashlib
import io
import json
import os

import numpy as np

from keras_genart.data.arrays import RandomAccessImages
from keras_genart.errors import UserInputError

FORMAT = "keras_genart.prepared"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
LABELS = "labels.npy"
ENCODINGS = ("raw", "png")
DEFAULT_ENCODING = "raw"
# One record per group: a random read decodes one picture, not a group of them.
WRITER_OPTIONS = "group_size:1,uncompressed"
# ArrayRecord's advice for random access: no read-ahead, no read threads of its own.
READER_OPTIONS = "readahead_buffer_size:0,max_parallelism:0"


def shard_name(index):
    """The file name of shard `index`."""
    return f"pictures-{index:05d}.array_record"


def encode(picture, encoding):
    """A uint8 `(s, s, 3)` picture as the bytes of one record."""
    if encoding == "raw":
        return np.ascontiguousarray(picture, np.uint8).tobytes()
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def decode(record, encoding, image_size):
    """One record's bytes as a uint8 `(s, s, 3)` picture; ValueError when they are not one."""
    shape = (image_size, image_size, 3)
    if encoding == "raw":
        if len(record) != image_size * image_size * 3:
            raise ValueError(f"a record of {len(record)} bytes, not {shape} pixels")
        return np.frombuffer(record, np.uint8).reshape(shape)
    from PIL import Image

    try:
        with Image.open(io.BytesIO(record)) as image:
            picture = np.asarray(image.convert("RGB"))
    except (OSError, SyntaxError) as e:
        raise ValueError(f"an unreadable PNG record ({e})") from e
    if picture.shape != shape:
        raise ValueError(f"a PNG record of shape {picture.shape}, not {shape}")
    return picture


def file_sha256(path):
    """The sha256 hex digest of a file, read in 4 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(4 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_hash(manifest):
    """One sha256 over what the pictures and labels are: the files' digests, the size, the
    encoding. Equal hashes mean equal data sets, wherever they were prepared."""
    what = {"image_size": manifest["image_size"], "encoding": manifest["encoding"],
            "shards": [s["sha256"] for s in manifest["shards"]],
            "labels": manifest["labels"] and manifest["labels"]["sha256"],
            "class_names": manifest["class_names"]}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def is_prepared(path):
    """Whether `path` is a prepared data set's folder (it holds a manifest)."""
    return os.path.isfile(os.path.join(os.fspath(path), MANIFEST))


def read_manifest(path):
    """The manifest of the prepared set at `path`, checked for its fields.

    Raises:
        UserInputError: the manifest is unreadable or not one this version writes.
    """
    file = os.path.join(os.fspath(path), MANIFEST)
    try:
        with open(file) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        raise UserInputError(f"prepared data set manifest '{file}' is unreadable ({e}); "
                             "prepare the set again with `genart prepare`") from e
    needed = ("format_version", "count", "image_size", "encoding", "shards", "class_names",
              "labels", "grayscale", "source", "content_hash")
    missing = [k for k in needed if not isinstance(manifest, dict) or k not in manifest]
    if missing or manifest.get("format") != FORMAT:
        raise UserInputError(f"'{file}' is not a keras_genart prepared data set manifest "
                             f"(missing {', '.join(missing) or 'format'}); prepare the set "
                             "again with `genart prepare`")
    if manifest["format_version"] != FORMAT_VERSION or manifest["encoding"] not in ENCODINGS:
        raise UserInputError(f"'{file}' is a prepared set of format version "
                             f"{manifest['format_version']} ({manifest['encoding']}); this "
                             f"keras_genart reads version {FORMAT_VERSION}: prepare it again")
    return manifest


def _mismatch(file, what):
    return UserInputError(f"prepared shard '{file}' does not match its manifest ({what}): "
                          "the set is damaged; prepare it again with `genart prepare`")


def _corrupt(file, error):
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    return UserInputError(f"prepared shard '{file}' is corrupt or truncated ({first}); "
                          "prepare the set again with `genart prepare`")


def open_reader(file):
    """An ArrayRecordReader for random access to a shard, or a UserInputError naming it."""
    from array_record.python.array_record_module import ArrayRecordReader

    try:
        return ArrayRecordReader(file, READER_OPTIONS)
    except (RuntimeError, ValueError, OSError) as e:
        raise _corrupt(file, e) from e


def _record_count(file):
    reader = open_reader(file)
    try:
        count = reader.num_records()
        reader.close()  # reads the file's end: a truncated one fails here
    except (RuntimeError, ValueError, OSError) as e:
        raise _corrupt(file, e) from e
    return count


def check_shards(path, manifest):
    """Checks what costs no full read: every shard is there, of its size and record count,
    the counts add up, the labels match. Raises a UserInputError naming the first bad file."""
    total = 0
    for shard in manifest["shards"]:
        file = os.path.join(path, shard["name"])
        if not os.path.isfile(file):
            raise _mismatch(file, "the file is missing")
        if os.path.getsize(file) != shard["bytes"]:
            raise _mismatch(file, f"{os.path.getsize(file)} bytes, the manifest says "
                                  f"{shard['bytes']}")
        count = _record_count(file)
        if count != shard["records"]:
            raise _mismatch(file, f"{count} records, the manifest says {shard['records']}")
        total += shard["records"]
    if total != manifest["count"]:
        raise _mismatch(os.path.join(path, MANIFEST),
                        f"its shards hold {total} pictures, it says {manifest['count']}")


def read_labels(path, manifest):
    """The labels (int32 array) of a prepared set, or None when it has no classes."""
    if not manifest["labels"]:
        return None
    file = os.path.join(path, manifest["labels"]["name"])
    try:
        labels = np.load(file, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise _mismatch(file, f"unreadable: {e}") from e
    if labels.shape != (manifest["count"],) or labels.dtype != np.int32 or (
            len(labels) and not 0 <= labels.min() <= labels.max() < len(manifest["class_names"])):
        raise _mismatch(file, f"{labels.dtype} labels of shape {labels.shape} for "
                              f"{manifest['count']} pictures of {len(manifest['class_names'])} classes")
    return labels


class PreparedImages(RandomAccessImages):
    """The pictures of a prepared data set, read from its shards on demand.

    Indexed like a uint8 array `(n, s, s, 3)` (see `RandomAccessImages`). A read
    groups the indices by shard and asks each shard for all of its records at
    once. Readers open on first use and are dropped when pickled, so data loader
    workers each open their own.

    Args:
        path: str. The prepared set's folder.
        manifest: dict. Its manifest, as `read_manifest` returns it.
    """

    def __init__(self, path, manifest):
        super().__init__(manifest["count"], manifest["image_size"])
        self.path = os.fspath(path)
        self.encoding = manifest["encoding"]
        self.files = [os.path.join(self.path, s["name"]) for s in manifest["shards"]]
        self.ends = np.cumsum([s["records"] for s in manifest["shards"]]).astype(np.int64)
        self._readers = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_readers"] = {}
        return state

    def _reader(self, shard):
        if shard not in self._readers:
            self._readers[shard] = open_reader(self.files[shard])
        return self._readers[shard]

    def read(self, indices):
        indices = np.asarray(indices, np.int64)
        size = self.shape[1]
        out = np.empty((len(indices), *self.shape[1:]), np.uint8)
        shards = np.searchsorted(self.ends, indices, side="right")
        for shard in np.unique(shards):
            where = np.flatnonzero(shards == shard)
            start = self.ends[shard - 1] if shard else 0
            try:
                records = self._reader(shard).read((indices[where] - start).tolist())
                for i, record in zip(where, records):
                    out[i] = decode(record, self.encoding, size)
            except (RuntimeError, ValueError, OSError) as e:
                raise _corrupt(self.files[shard], e) from e
        return out

    def close(self):
        """Closes the open shard readers (they reopen on the next read)."""
        for reader in self._readers.values():
            reader.close()
        self._readers = {}


def open_shards(path, image_size=None):
    """Opens a prepared set after the checks that need no full read.

    Args:
        path: str. The prepared set's folder.
        image_size: int. The size the caller needs; a set of another size is
            refused. Defaults to None (any).

    Returns:
        `(manifest, PreparedImages, labels or None)`.
    """
    path = os.fspath(path)
    manifest = read_manifest(path)
    if image_size is not None and int(image_size) != manifest["image_size"]:
        raise UserInputError(
            f"prepared data set '{os.path.join(path, MANIFEST)}' holds "
            f"{manifest['image_size']} px pictures, not {int(image_size)} px; use "
            f"--image-size {manifest['image_size']}, or prepare it at {int(image_size)} px "
            "into another folder")
    check_shards(path, manifest)
    return manifest, PreparedImages(path, manifest), read_labels(path, manifest)


__all__ = ["PreparedImages", "is_prepared", "open_shards", "read_manifest", "shard_name"]
