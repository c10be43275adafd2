"""`genart prepare`: any `--data` source cleaned once and written as a prepared data set.

StyleGAN's `dataset_tool` is the model: the same cleaning as the in-memory loaders
(`image_folder.clean_file` for folders, the built-in drawing, TFDS' squaring), run on
every core, written as ArrayRecord shards with a manifest (the format is
`keras_genart.data.shards`). Training then reads pictures by index from disk.

A run is resumable and its output deterministic: the source's items are taken in a
fixed order (sorted files, indices), kept pictures fill shards of a fixed size in that
order, a shard is written as `*.partial` and renamed when whole, and `progress.json`
records after each whole shard where the source stands. A run started again after a
kill checks the whole shards' sha256, keeps them, rewrites the rest and ends with the
same bytes. The manifest is written last, atomically; then `progress.json` goes.
"""

import collections
import errno
import hashlib
import json
import os
import re

import numpy as np

from keras_genart.data import builtin_art, shards
from keras_genart.data.image_folder import (
    IMAGE_EXTENSIONS, check_folder, clean_file, describe_summary, scan_folder)
from keras_genart.data.sources import (
    BUILTIN_DEFAULT_SIZE, GRAY_TOLERANCE, _parse_count, load_images, parse_source)
from keras_genart.errors import UserInputError
from keras_genart.options import check_image_size

PROGRESS = "progress.json"
DEFAULT_SHARD_SIZE = 1024
# Pictures per task sent to a worker process: large enough to amortise the transfer.
_CHUNK = 16
# Pictures read at a time from a TFDS source: bounded memory whatever its size.
_TFDS_CHUNK = 256
_SHARD = re.compile(r"pictures-\d{5}\.array_record(\.partial)?")


def _atomic_json(path, value):
    """Writes JSON through a temporary file and `os.replace`: readers see old or new, whole."""
    tmp = path + ".tmp"
    try:
        with open(tmp, "w") as f:
            json.dump(value, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        raise _write_error(path, e) from e


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _write_error(path, error):
    if getattr(error, "errno", None) == errno.ENOSPC:
        return UserInputError(f"disk full while writing '{path}': free some space and run the "
                              "same `genart prepare` again; whole shards are kept and it resumes")
    return UserInputError(f"cannot write '{path}' ({error}); check the --out folder")


# --- the sources, as ordered items -----------------------------------------------------

def _clean_task(task):
    path, image_size, min_size = task
    return clean_file(path, image_size, min_size)


def _draw_task(task):
    name, index, image_size, seed = task
    return builtin_art.draw(name, index, image_size, seed)[0], None


def _mapped(function, tasks, workers):
    """`function` over `tasks` in order, in `workers` processes when more than one."""
    if workers <= 1:
        yield from map(function, tasks)
        return
    import multiprocessing
    import sys

    # fork is cheap and works from any __main__ (a notebook, stdin), but a parent whose
    # TensorFlow or JAX threads are running is not safe to fork: then spawn.
    heavy = any(m in sys.modules for m in ("tensorflow", "jax"))
    with multiprocessing.get_context("spawn" if heavy else "fork").Pool(workers) as pool:
        yield from pool.imap(function, tasks, chunksize=_CHUNK)


class _Source:
    """A source as `count` items in a fixed order; `items(start, workers)` yields
    `(picture or None, label, skip reason or None)` from item `start` on; a label is an
    index in `label_keys`, or None when the source has no classes."""

    def __init__(self, source, image_size, seed, tfds_data_dir, min_size):
        self.image_size = image_size
        self.kind, parts = parse_source(source)
        self.skipped = collections.Counter()
        if self.kind == "folder":
            self.folder = check_folder(parts[0])
            self.source = os.path.abspath(self.folder)
            self.min_size = image_size // 2 if min_size is None else int(min_size)
            self.files, self.skipped = scan_folder(self.folder)
            self.count = len(self.files)
            self.label_keys = sorted({label for _, label in self.files if label is not None})
            index = {name: i for i, name in enumerate(self.label_keys)}
            self.labels = [None if label is None else index[label] for _, label in self.files]
            # The files as they are now: a folder changed since a killed run starts afresh.
            self.described = {"kind": "folder", "min_size": self.min_size,
                              "files": _listing_digest(self.files)}
        elif self.kind == "builtin":
            self.source = source
            self.name, self.seed = parts[0], int(seed)
            if self.name not in builtin_art.DATASETS:
                load_images(source, image_size)  # its one line naming the choices
            self.count = _parse_count(parts[1], source) if len(parts) > 1 else BUILTIN_DEFAULT_SIZE
            styles = builtin_art.styles_of(self.name)
            self.label_keys = list(styles) if len(styles) > 1 else []
            self.described = {"kind": "builtin", "seed": self.seed}
        else:
            self.source, self.tfds_data_dir = source, tfds_data_dir
            self.described = {"kind": "tfds"}

    def open(self):
        """Reads what the items need (a TFDS set loads TensorFlow): after the cheap checks."""
        if self.kind == "tfds":
            # TFDS' own reader: random access where the set allows it, so the chunks
            # in `items` read only what they write.
            self.data = load_images(self.source, self.image_size,
                                    tfds_data_dir=self.tfds_data_dir)
            self.count = self.data.num_images
            self.label_keys = list(self.data.class_names)
            self.tfds_summary = self.data.summary

    def items(self, start, workers):
        if self.kind == "folder":
            tasks = ((path, self.image_size, self.min_size) for path, _ in self.files[start:])
            results = _mapped(_clean_task, tasks, workers)
            for (picture, reason), label in zip(results, self.labels[start:]):
                yield picture, label, reason
        elif self.kind == "builtin":
            tasks = ((self.name, i, self.image_size, self.seed) for i in range(start, self.count))
            for i, (picture, _) in enumerate(_mapped(_draw_task, tasks, workers), start):
                yield picture, i % len(self.label_keys) if self.label_keys else None, None
        else:
            images, labels = self.data.images, self.data.labels
            for offset in range(start, self.count, _TFDS_CHUNK):
                block = np.asarray(images[offset:offset + _TFDS_CHUNK])
                for i, picture in enumerate(block, offset):
                    yield picture, None if labels is None else int(labels[i]), None


# --- progress: what a killed run leaves for the next one -------------------------------

def _fresh(identity, skipped):
    return {"identity": identity, "shards": [], "cursor": 0, "labels": [], "gray": True,
            "reasons": dict(skipped), "kept": 0}


def _our_files(out):
    """The names in `out` that a prepare run writes (a user's pictures-2020.jpg is not)."""
    names = (PROGRESS, shards.LABELS, PROGRESS + ".tmp", shards.LABELS + ".tmp",
             shards.MANIFEST + ".tmp")
    return [n for n in os.listdir(out) if n in names or _SHARD.fullmatch(n)]


def _resume(out, identity, skipped):
    """The progress to continue from: the whole shards that are still what they were.

    Anything else of ours in `out` (a partial shard, a shard after a damaged one, the
    files of an unfinished run of another source) is removed.
    """
    state = None
    try:
        with open(os.path.join(out, PROGRESS)) as f:
            state = json.load(f)
    except (OSError, ValueError):
        pass
    if not isinstance(state, dict) or state.get("identity") != identity:
        state = _fresh(identity, skipped)
    for k, shard in enumerate(state["shards"]):
        file = os.path.join(out, shard["name"])
        if not os.path.isfile(file) or shards.file_sha256(file) != shard["sha256"]:
            back = state["shards"][k - 1] if k else _fresh(identity, skipped)
            state.update(cursor=back["cursor"], gray=back["gray"], reasons=dict(back["reasons"]),
                         kept=back["kept"], shards=state["shards"][:k],
                         labels=state["labels"][:back["kept"]])
            break
    keep = {s["name"] for s in state["shards"]} | {PROGRESS}
    for name in _our_files(out):
        if name not in keep:
            _remove(os.path.join(out, name))
    return state


def _listing_digest(files):
    """sha256 of the files' paths, sizes and modification times."""
    digest = hashlib.sha256()
    for path, _ in files:
        stat = os.stat(path)
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _check_out(out, identity):
    """Refuses an `--out` that holds something else than this set (finished or not)."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise UserInputError(f"--out '{out}' is a file; pass a folder for the prepared set")
    os.makedirs(out, exist_ok=True)
    if shards.is_prepared(out):
        manifest = shards.read_manifest(out)
        if manifest.get("identity") != identity:
            raise UserInputError(
                f"'{out}' already holds a prepared data set ({manifest['source']}, "
                f"{manifest['image_size']} px) of another source, settings or state of "
                "its files; it is left as it is: choose another --out")
        _remove(os.path.join(out, PROGRESS))  # a run killed right after its manifest
        return manifest
    foreign = sorted(set(os.listdir(out)) - set(_our_files(out)))
    if foreign:
        raise UserInputError(f"--out '{out}' is not empty ({foreign[0]}, ...) and holds no "
                             "prepared set: pass a new or empty folder")
    return None


# --- the writer ------------------------------------------------------------------------

def _open_writer(path):
    from array_record.python.array_record_module import ArrayRecordWriter

    return ArrayRecordWriter(path, shards.WRITER_OPTIONS)


class _ShardWriter:
    """One shard being written to `NAME.partial`, renamed to `NAME` when whole."""

    def __init__(self, out, index):
        self.file = os.path.join(out, shards.shard_name(index))
        self.partial = self.file + ".partial"
        self.records = 0
        self.writer = None
        try:
            self.writer = _open_writer(self.partial)
        except (OSError, RuntimeError, ValueError) as e:
            raise self.failed(e) from e

    def failed(self, error):
        """Removes the partial file; the error to raise, naming it."""
        try:
            if self.writer is not None:
                self.writer.close()
        except (OSError, RuntimeError, ValueError):
            pass  # the error that brought us here is the one to report
        _remove(self.partial)
        if not isinstance(error, OSError) and "space" in str(error).lower():
            error = OSError(errno.ENOSPC, str(error))
        return _write_error(self.partial, error)

    def write(self, record):
        try:
            self.writer.write(record)
        except (OSError, RuntimeError, ValueError) as e:
            raise self.failed(e) from e
        self.records += 1

    def finish(self):
        """Closes, renames; the manifest's entry for the shard."""
        try:
            self.writer.close()
            with open(self.partial, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(self.partial, self.file)
        except (OSError, RuntimeError, ValueError) as e:
            raise self.failed(e) from e
        return {"name": os.path.basename(self.file), "records": self.records,
                "bytes": os.path.getsize(self.file), "sha256": shards.file_sha256(self.file)}


def _is_gray(picture):
    p = picture.astype(np.int16)
    return bool(np.abs(p[..., 0] - p[..., 1]).max() <= GRAY_TOLERANCE
                and np.abs(p[..., 1] - p[..., 2]).max() <= GRAY_TOLERANCE)


def _write_shards(out, source, state, workers, shard_size, encoding):
    """Runs the source from the state's cursor, filling shards; updates and saves the state."""
    writer = None
    try:
        for picture, label, reason in source.items(state["cursor"], workers):
            state["cursor"] += 1
            if reason is not None:
                state["reasons"][reason] = state["reasons"].get(reason, 0) + 1
            else:
                if writer is None:
                    writer = _ShardWriter(out, len(state["shards"]))
                writer.write(shards.encode(picture, encoding))
                if label is not None:
                    state["labels"].append(label)
                state["gray"] = state["gray"] and _is_gray(picture)
                state["kept"] += 1
            if writer is not None and (writer.records == shard_size
                                       or state["cursor"] == source.count):
                entry = writer.finish()
                writer = None
                state["shards"].append({**entry, "cursor": state["cursor"], "gray": state["gray"],
                                        "reasons": dict(state["reasons"]), "kept": state["kept"]})
                _atomic_json(os.path.join(out, PROGRESS), state)
    except BaseException:
        if writer is not None:  # a kill leaves it too: the next run removes it
            _remove(writer.partial)
        raise


def _finish(out, source, state, identity, encoding):
    """labels.npy, then the manifest (atomically), then progress.json goes."""
    if not state["kept"]:
        raise UserInputError(
            f"no usable image in '{source.source}' (looked recursively for "
            f"{', '.join(IMAGE_EXTENSIONS)}); {describe_summary(_report(state))}")
    # A class folder whose every file was skipped is no class, as in `load_image_folder`.
    counts = collections.Counter(state["labels"])
    present = [k for k in range(len(source.label_keys)) if source.kind != "folder" or counts[k]]
    labels = None
    if present:
        index = {k: i for i, k in enumerate(present)}
        array = np.array([index[k] for k in state["labels"]], np.int32)
        file = os.path.join(out, shards.LABELS)
        try:
            with open(file + ".tmp", "wb") as f:
                np.save(f, array)
            os.replace(file + ".tmp", file)
        except OSError as e:
            _remove(file + ".tmp")
            raise _write_error(file, e) from e
        labels = {"name": shards.LABELS, "sha256": shards.file_sha256(file)}
    manifest = {
        "format": shards.FORMAT, "format_version": shards.FORMAT_VERSION,
        "source": source.source, "image_size": source.image_size, "count": state["kept"],
        "encoding": encoding, "class_names": [str(source.label_keys[k]) for k in present],
        "class_counts": [counts[k] for k in present], "grayscale": state["gray"],
        "skip_report": _report(state), "identity": identity, "labels": labels,
        "shards": [{k: s[k] for k in ("name", "records", "bytes", "sha256")}
                   for s in state["shards"]],
        **{k: v for k, v in source.described.items() if k != "kind"},
    }
    if source.kind == "tfds":
        manifest["tfds"] = source.tfds_summary
    manifest["content_hash"] = shards.content_hash(manifest)
    _atomic_json(os.path.join(out, shards.MANIFEST), manifest)
    _remove(os.path.join(out, PROGRESS))
    return manifest


def _report(state):
    reasons = dict(sorted(state["reasons"].items()))
    return {"kept": state["kept"], "skipped": sum(reasons.values()), "reasons": reasons}


def prepare(source, out, image_size, *, seed=0, tfds_data_dir=None, workers=None,
            shard_size=DEFAULT_SHARD_SIZE, min_size=None, encoding=shards.DEFAULT_ENCODING):
    """Cleans a data source once and writes it as a prepared data set.

    Resumes an unfinished run into the same `out` (same source and settings);
    does nothing when `out` already holds this set; refuses an `out` holding
    anything else.

    Args:
        source: str. Any `--data` source: a folder, `"tfds:NAME[:SPLIT]"` or
            `"builtin:NAME[:COUNT]"`.
        out: str. The folder to write (created when missing).
        image_size: int. Side of the square pictures.
        seed: int. Seed of a built-in set. Defaults to 0.
        tfds_data_dir: str. Where TFDS sets are prepared. Defaults to TFDS' own.
        workers: int. Cleaning processes for folders and built-in sets.
            Defaults to the number of CPUs.
        shard_size: int. Pictures per shard. Defaults to 1024.
        min_size: int. Folder images with a shorter side are skipped.
            Defaults to `image_size // 2`.
        encoding: str. Records as `"raw"` uint8 or `"png"`. Defaults to "raw".

    Returns:
        dict, the manifest written (see `keras_genart.data.shards`).

    Example:
    >>> manifest = prepare("builtin:mondrian:64", "/tmp/mondrian16", image_size=16)
    >>> manifest["count"], manifest["image_size"]
    (64, 16)
    """
    image_size = check_image_size(image_size)
    if encoding not in shards.ENCODINGS:
        raise UserInputError(f"unknown encoding {encoding!r}; choose {', '.join(shards.ENCODINGS)}")
    if int(shard_size) < 1:
        raise UserInputError(f"shard size must be a positive integer, got {shard_size!r}")
    source = _Source(source, image_size, seed, tfds_data_dir, min_size)
    identity = {"source": source.source, "image_size": image_size, "encoding": encoding,
                "shard_size": int(shard_size), **source.described}
    out = os.path.abspath(os.fspath(out))
    done = _check_out(out, identity)
    if done is not None:
        return done
    source.open()
    state = _resume(out, identity, source.skipped)
    workers = max(1, int(workers or os.cpu_count() or 1))
    _write_shards(out, source, state, workers, int(shard_size), encoding)
    return _finish(out, source, state, identity, encoding)


def describe_manifest(manifest):
    """A few lines for the console: what the prepared set holds."""
    lines = [f"{manifest['count']} pictures of {manifest['image_size']} px from "
             f"{manifest['source']}, {len(manifest['shards'])} shard(s), "
             f"{manifest['encoding']} records" + (", gray" if manifest["grayscale"] else "")]
    if manifest["class_names"]:
        lines.append("classes: " + ", ".join(
            f"{n} {c}" for n, c in zip(manifest["class_names"], manifest["class_counts"])))
    lines.append(f"content hash {manifest['content_hash']}")
    return "\n".join(lines)


__all__ = ["DEFAULT_SHARD_SIZE", "describe_manifest", "prepare"]
