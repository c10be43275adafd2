"""`genart prepare` and prepared data sets: round trips, resume, bad input, the CLI."""

import errno
import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from keras_genart.data import load_images, prepare as prepare_module
from keras_genart.data.prepare import prepare
from keras_genart.data.shards import MANIFEST, PreparedImages, is_prepared, shard_name
from keras_genart.data.sources import open_prepared
from keras_genart.errors import UserInputError


def _folder(path, classes=("circles", "stripes"), per_class=7):
    """A labelled folder of 24 px pictures, with broken files, a text file, and a class
    folder whose only picture is broken (no class, as in memory)."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (path / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (24, 20 + c, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(path / name / f"{i:02d}.png")
    (path / classes[0] / "broken.jpg").write_bytes(b"not a jpeg")
    (path / classes[1] / "notes.txt").write_text("not a picture")
    (path / "zz_broken").mkdir()
    (path / "zz_broken" / "0.png").write_bytes(b"not a png")
    return str(path)


def _files(folder):
    """{name: sha256} of every file in a folder."""
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest()
            for n in sorted(os.listdir(folder))}


def _assert_same_data(prepared, expected):
    np.testing.assert_array_equal(prepared.images[:], expected.images)
    if expected.labels is None:
        assert prepared.labels is None
    else:
        np.testing.assert_array_equal(prepared.labels, expected.labels)
        assert prepared.labels.dtype == np.int32
    assert prepared.class_names == expected.class_names
    assert prepared.grayscale == expected.grayscale
    assert prepared.num_images == expected.num_images


# --- round trips ---------------------------------------------------------------------

def test_folder_round_trip_equals_the_in_memory_loader(tmp_path):
    source = _folder(tmp_path / "pictures")
    out = tmp_path / "prepared"
    manifest = prepare(source, out, 16, workers=1, shard_size=4)
    assert is_prepared(out) and not os.path.exists(out / "progress.json")
    assert [s["records"] for s in manifest["shards"]] == [4, 4, 4, 2]
    assert manifest["class_names"] == ["circles", "stripes"]
    assert manifest["class_counts"] == [7, 7]
    assert manifest["skip_report"] == {"kept": 14, "skipped": 3, "reasons": {
        "not an image file": 1, "unreadable": 2}}
    data = load_images(str(out), image_size=16)
    _assert_same_data(data, load_images(source, image_size=16))
    assert isinstance(data.images, PreparedImages)
    assert data.summary["kind"] == "prepared" and data.summary["prepared_from"] == source
    assert data.describe().endswith("kept 14, skipped 3 (1 not an image file, 2 unreadable), "
                                     "2 classes")
    # Any order, repeats, a single picture, like the array it stands for.
    whole = data.images[:]
    np.testing.assert_array_equal(data.images[[13, 0, 5, 5]], whole[[13, 0, 5, 5]])
    np.testing.assert_array_equal(data.images[9], whole[9])


def test_builtin_round_trip_and_workers_give_the_same_bytes(tmp_path):
    one = prepare("builtin:abstract:30", tmp_path / "one", 16, workers=1, shard_size=8)
    two = prepare("builtin:abstract:30", tmp_path / "two", 16, workers=2, shard_size=8)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    assert one["content_hash"] == two["content_hash"]
    _assert_same_data(open_prepared(tmp_path / "one", 16),
                      load_images("builtin:abstract:30", image_size=16))
    # A one-style set has no classes, as in memory; its gray flag comes from the manifest.
    prepare("builtin:mondrian:5", tmp_path / "m", 16, workers=1)
    _assert_same_data(open_prepared(tmp_path / "m"), load_images("builtin:mondrian:5", 16))


def test_tfds_round_trip_with_mock_data(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        manifest = prepare("tfds:mnist:train", tmp_path / "mnist", 16, shard_size=5)
        expected = load_images("tfds:mnist:train", image_size=16)
    assert manifest["count"] == 12 and manifest["grayscale"]
    assert manifest["tfds"]["name"] == "mnist"
    _assert_same_data(open_prepared(tmp_path / "mnist", 16), expected)


def test_prepared_images_pickle_without_their_readers(tmp_path):
    prepare("builtin:abstract:10", tmp_path / "p", 16, workers=1, shard_size=4)
    images = open_prepared(tmp_path / "p").images
    first = images[[1, 9]]  # opens two readers
    assert len(images._readers) == 2
    copy = pickle.loads(pickle.dumps(images))
    assert copy._readers == {}
    np.testing.assert_array_equal(copy[[1, 9]], first)


# --- resume ----------------------------------------------------------------------------

def _interrupt_after(monkeypatch, records):
    """Makes the writer stop (as a kill would) when it has written `records` pictures."""
    real = prepare_module._ShardWriter.write
    written = []

    def write(self, record):
        if len(written) == records:
            raise KeyboardInterrupt
        written.append(1)
        real(self, record)

    monkeypatch.setattr(prepare_module._ShardWriter, "write", write)


def test_a_killed_prepare_resumes_to_the_same_bytes(tmp_path, monkeypatch):
    source = _folder(tmp_path / "pictures")
    prepare(source, tmp_path / "whole", 16, workers=1, shard_size=4)
    out = tmp_path / "resumed"
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 10)  # two whole shards, the third half written
        with pytest.raises(KeyboardInterrupt):
            prepare(source, out, 16, workers=1, shard_size=4)
    assert not is_prepared(out)  # no manifest: never taken for a data set
    assert sorted(os.listdir(out)) == [shard_name(0), shard_name(1), "progress.json"]
    with pytest.raises(UserInputError, match="no usable image in folder"):
        load_images(str(out), 16)
    # What a kill -9 would leave besides: a half-written shard, and a whole shard
    # damaged since: the first is rewritten, the second too, from its own start.
    (out / (shard_name(2) + ".partial")).write_bytes(b"half a shard")
    damaged = bytearray((out / shard_name(1)).read_bytes())
    damaged[300] ^= 0xFF
    (out / shard_name(1)).write_bytes(bytes(damaged))
    prepare(source, out, 16, workers=2, shard_size=4)
    assert _files(out) == _files(tmp_path / "whole")


def test_a_folder_changed_since_a_killed_run_is_prepared_afresh(tmp_path, monkeypatch):
    source = _folder(tmp_path / "pictures")
    out = tmp_path / "p"
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 5)
        with pytest.raises(KeyboardInterrupt):
            prepare(source, out, 16, workers=1, shard_size=4)
    Image.new("RGB", (24, 24), "red").save(tmp_path / "pictures" / "circles" / "00a.png")
    manifest = prepare(source, out, 16, workers=1, shard_size=4)
    assert manifest["class_counts"] == [8, 7]
    _assert_same_data(open_prepared(out), load_images(source, 16))
    # The finished set is of the older files now: refused, not rewritten.
    Image.new("RGB", (24, 24), "blue").save(tmp_path / "pictures" / "circles" / "00b.png")
    with pytest.raises(UserInputError, match="state of its files"):
        prepare(source, out, 16, workers=1, shard_size=4)


def test_a_prepare_killed_with_sigkill_resumes_to_the_same_bytes(tmp_path):
    out = tmp_path / "killed"
    code = ("import sys\nfrom keras_genart.data.prepare import prepare\n"
            "prepare('builtin:abstract:600', sys.argv[1], 16, workers=1, shard_size=20)")
    process = subprocess.Popen([sys.executable, "-c", code, str(out)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if len(json.loads((out / "progress.json").read_text())["shards"]) >= 2:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert not is_prepared(out), "the run ended before it was killed"
    prepare("builtin:abstract:600", out, 16, workers=2, shard_size=20)
    prepare("builtin:abstract:600", tmp_path / "whole", 16, workers=2, shard_size=20)
    assert _files(out) == _files(tmp_path / "whole")


def test_a_full_disk_removes_the_partial_shard_and_keeps_the_rest(tmp_path, monkeypatch):
    out = tmp_path / "p"
    real = prepare_module._open_writer
    written = []

    class FillingDisk:
        """ArrayRecordWriter's writes, until the disk fills at the 7th picture."""

        def __init__(self, path):
            self.writer = real(path)

        def write(self, record):
            written.append(record)
            if len(written) == 7:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.writer.write(record)

        def close(self):
            self.writer.close()

    with monkeypatch.context() as patch:
        patch.setattr(prepare_module, "_open_writer", FillingDisk)
        with pytest.raises(UserInputError) as error:
            prepare("builtin:abstract:12", out, 16, workers=1, shard_size=4)
    message = str(error.value)
    assert message.startswith(f"disk full while writing '{out / shard_name(1)}.partial'")
    assert len(message.splitlines()) == 1
    assert sorted(os.listdir(out)) == [shard_name(0), "progress.json"]
    prepare("builtin:abstract:12", out, 16, workers=1, shard_size=4)
    prepare("builtin:abstract:12", tmp_path / "whole", 16, workers=1, shard_size=4)
    assert _files(out) == _files(tmp_path / "whole")


def test_a_full_disk_while_writing_the_manifest_leaves_no_manifest(tmp_path, monkeypatch):
    real = json.dump

    def dump(value, f, **kwargs):
        if f.name.endswith(MANIFEST + ".tmp"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(value, f, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(prepare_module.json, "dump", dump)
        with pytest.raises(UserInputError, match=r"disk full while writing '.*manifest.json'"):
            prepare("builtin:abstract:6", tmp_path / "p", 16, workers=1)
    assert not is_prepared(tmp_path / "p")
    assert not os.path.exists(tmp_path / "p" / (MANIFEST + ".tmp"))
    prepare("builtin:abstract:6", tmp_path / "p", 16, workers=1)
    assert is_prepared(tmp_path / "p")


# --- a complete set is never damaged ---------------------------------------------------

def test_a_complete_set_is_kept_and_never_overwritten(tmp_path):
    out = tmp_path / "p"
    first = prepare("builtin:abstract:10", out, 16, workers=1)
    before = _files(out)
    assert prepare("builtin:abstract:10", out, 16, workers=1) == first  # same: a no-op
    for source, size in (("builtin:abstract:11", 16), ("builtin:abstract:10", 32)):
        with pytest.raises(UserInputError, match=f"'{out}' already holds a prepared data set "
                                                 r"\(builtin:abstract:10, 16 px\)"):
            prepare(source, out, size, workers=1)
    assert _files(out) == before
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "pictures-2020.jpg").write_bytes(b"x")
    with pytest.raises(UserInputError, match="is not empty .pictures-2020.jpg"):
        prepare("builtin:abstract:4", tmp_path / "mine", 16)
    assert os.listdir(tmp_path / "mine") == ["pictures-2020.jpg"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserInputError, match="--out '.*file' is a file"):
        prepare("builtin:abstract:4", tmp_path / "file", 16)


# --- bad prepared sets: one line naming the file -----------------------------------------

@pytest.fixture
def prepared(tmp_path):
    out = tmp_path / "p"
    prepare("builtin:abstract:12", out, 16, workers=1, shard_size=4)
    return out


def _one_line_error(call, *names):
    with pytest.raises(UserInputError) as error:
        call()
    message = str(error.value)
    assert len(message.splitlines()) == 1
    for name in names:
        assert name in message, message
    return message


def _edit_manifest(out, change):
    manifest = json.loads((out / MANIFEST).read_text())
    change(manifest)
    (out / MANIFEST).write_text(json.dumps(manifest))


def test_a_truncated_shard_is_refused_at_open(prepared):
    file = prepared / shard_name(1)
    file.write_bytes(file.read_bytes()[:-1000])
    message = _one_line_error(lambda: load_images(str(prepared), 16), str(file))
    assert "does not match its manifest" in message and "bytes" in message
    # A manifest that agrees on the size: the reader itself refuses the file.
    _edit_manifest(prepared, lambda m: m["shards"][1].update(bytes=os.path.getsize(file)))
    assert "corrupt or truncated" in _one_line_error(lambda: open_prepared(prepared), str(file))


def test_a_corrupt_shard_is_refused_at_read(prepared):
    file = prepared / shard_name(2)
    data = bytearray(file.read_bytes())
    data[200] ^= 0xFF
    file.write_bytes(bytes(data))
    images = open_prepared(prepared, 16).images
    images[:8]  # the other shards read
    assert "corrupt or truncated" in _one_line_error(lambda: images[[0, 8]], str(file))


def test_a_manifest_that_does_not_match_its_shards(prepared):
    _edit_manifest(prepared, lambda m: m["shards"][0].update(records=5))
    assert "5" in _one_line_error(lambda: open_prepared(prepared), str(prepared / shard_name(0)),
                                  "records")
    _edit_manifest(prepared, lambda m: m["shards"][0].update(records=4))
    _edit_manifest(prepared, lambda m: m.update(count=13))
    _one_line_error(lambda: open_prepared(prepared), str(prepared / MANIFEST), "13")
    _edit_manifest(prepared, lambda m: m.update(count=12))
    os.remove(prepared / shard_name(2))
    _one_line_error(lambda: open_prepared(prepared), str(prepared / shard_name(2)), "missing")
    (prepared / MANIFEST).write_text("{not json")
    _one_line_error(lambda: open_prepared(prepared), str(prepared / MANIFEST), "unreadable")


def test_labels_that_do_not_match_are_refused(prepared):
    np.save(prepared / "labels.npy", np.zeros(11, np.int32))
    _one_line_error(lambda: open_prepared(prepared), str(prepared / "labels.npy"), "(11,)")


def test_a_set_of_another_image_size_is_refused(prepared):
    message = _one_line_error(lambda: load_images(str(prepared), image_size=64),
                              str(prepared / MANIFEST), "16 px", "not 64 px")
    assert "--image-size 16" in message


# --- the command -----------------------------------------------------------------------

def test_cli_prepares_and_the_set_trains_as_data(tmp_path, capsys):
    from keras_genart.cli import main

    source = _folder(tmp_path / "pictures")
    out = tmp_path / "prepared"
    argv = ["prepare", source, "--out", str(out), "--image-size", "16", "--workers", "2",
            "--shard-size", "5"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "kept 14, skipped 3 (1 not an image file, 2 unreadable)" in printed
    assert "14 pictures of 16 px" in printed and "circles 7, stripes 7" in printed
    assert main(argv) == 0  # again: nothing to do, the same answer
    assert "14 pictures of 16 px" in capsys.readouterr().out
    _assert_same_data(load_images(str(out), 16), load_images(source, 16))


def test_cli_mistakes_fail_in_one_line(tmp_path, capsys):
    from keras_genart.cli import main

    # More mistakes, with the check that no backend loads, are in tests/test_cli.py.
    out = str(tmp_path / "a")
    assert main(["prepare", "builtin:abstract:0", "--out", out, "--image-size", "16"]) == 2
    assert "bad image count '0'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["prepare", "builtin:abstract", "--out", out, "--image-size", "17"])
    assert done.value.code == 2 and "--image-size" in capsys.readouterr().err
    assert not os.path.exists(out)
