import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_genart.errors import ExportError, UserInputError
from keras_genart.export import export_model, read_metadata
from keras_genart.export.metadata import sha256_file
from keras_genart.latents import sample_latents
from tests.conftest import _tiny_trained

QUIET = dict(log=lambda *_: None)


def test_layout_and_metadata(exported):
    version_dir = exported["version_dir"]
    assert version_dir == os.path.join(exported["root"], "dcgan", "1")
    files = set(os.listdir(version_dir))
    assert {"saved_model.pb", "variables", "model.onnx", "metadata.json"} <= files
    metadata = read_metadata(version_dir)
    assert metadata["model_type"] == "dcgan" and metadata["latent_dim"] == 8
    assert metadata["image_size"] == 16 and metadata["channels"] == 3
    assert metadata["value_range"] == [0.0, 1.0] and metadata["gray"] is False
    assert metadata["signatures"] == ["serving_default", "render"]
    assert {"keras_genart", "keras", "tensorflow", "tf2onnx"} <= set(metadata["versions"])
    assert "default_rng(seed)" in metadata["latent_recipe"]
    for rel, digest in metadata["sha256"].items():
        assert sha256_file(os.path.join(version_dir, rel)) == digest
    assert {"model.onnx", "saved_model.pb"} <= set(metadata["sha256"])
    parity = metadata["parity_max_abs_diff"]
    assert set(parity) == {"savedmodel", "savedmodel:render", "onnx"}
    assert max(parity["savedmodel"], parity["onnx"]) <= 1e-4
    assert parity["savedmodel:render"] <= 1 / 255


def test_saved_model_cli_shows_our_signatures(exported):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    out = subprocess.run([cli, "show", "--dir", exported["version_dir"], "--all"],
                         capture_output=True, text=True, check=True).stdout
    default = out.split("signature_def['serving_default']:")[1]
    assert "inputs['z'] tensor_info:" in default
    assert "dtype: DT_FLOAT\n        shape: (-1, 8)" in default
    assert "outputs['images'] tensor_info:" in default
    assert "shape: (-1, 16, 16, 3)" in default
    render = out.split("signature_def['render']:")[1].split("signature_def[")[0]
    assert "inputs['z']" in render and "outputs['images_bytes']" in render
    assert "dtype: DT_STRING" in render
    assert "output_0" not in out and "inputs['inputs']" not in out


def test_signatures_match_keras(exported):
    loaded = tf.saved_model.load(exported["version_dir"])
    z = sample_latents(5, 8, seed=3)
    images = loaded.signatures["serving_default"](z=tf.constant(z))["images"].numpy()
    expected = exported["model"].generate(5, seed=3)
    assert images.shape == (5, 16, 16, 3)
    assert np.abs(images - expected).max() <= 1e-5
    pngs = loaded.signatures["render"](z=tf.constant(z[:2]))["images_bytes"].numpy()
    import io

    picture = np.asarray(Image.open(io.BytesIO(pngs[1])))
    assert picture.shape == (16, 16, 3)
    assert np.abs(picture / 255.0 - expected[1]).max() <= 1 / 255 + 1e-6


def test_onnx_dynamic_batch_and_names(exported):
    import onnxruntime as ort

    session = ort.InferenceSession(os.path.join(exported["version_dir"], "model.onnx"))
    assert [i.name for i in session.get_inputs()] == ["z"]
    assert [o.name for o in session.get_outputs()] == ["images"]
    assert session.get_inputs()[0].shape == ["batch", 8]
    for n in (1, 7):
        z = sample_latents(n, 8, seed=n)
        out = session.run(["images"], {"z": z})[0]
        assert out.shape == (n, 16, 16, 3)
        assert np.abs(out - exported["model"].generate_from_latents(z)).max() <= 1e-4


def test_versions_increment_and_are_never_overwritten(exported, tmp_path):
    root = tmp_path / "models"
    model = exported["model"]
    assert export_model(model, root, name="art", formats=["onnx"], **QUIET)["version"] == 1
    second = export_model(model, root, name="art", formats=["onnx"], **QUIET)
    assert second["version"] == 2 and second["formats"] == ["onnx"]
    assert not os.path.exists(os.path.join(second["path"], "saved_model.pb"))
    with pytest.raises(UserInputError, match="version 2 of 'art' already exists.*--force"):
        export_model(model, root, name="art", version=2, **QUIET)
    export_model(model, root, name="art", version=2, force=True, formats=["onnx"], **QUIET)
    assert sorted(os.listdir(root / "art")) == ["1", "2"]  # no temporary folder left


@pytest.mark.parametrize("exchange", [True, False])
def test_force_never_leaves_the_version_missing(tmp_path, monkeypatch, exchange):
    import threading

    from keras_genart.export import version_folders as exporter

    if not exchange:  # the fallback for systems without renameat2
        monkeypatch.setattr(exporter, "_rename_exchange", lambda a, b: False)
    final = tmp_path / "art" / "1"
    final.mkdir(parents=True)
    (final / "metadata.json").write_text("0")
    seen, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            try:
                seen.append((final / "metadata.json").read_text())
            except FileNotFoundError:
                seen.append(None)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for i in range(1, 31):
            new = tmp_path / "art" / f".tmp-1-{i}"
            new.mkdir()
            (new / "metadata.json").write_text(str(i))
            exporter.replace_dir(str(new), str(final))
    finally:
        stop.set()
        watcher.join()
    assert (final / "metadata.json").read_text() == "30"
    assert sorted(os.listdir(tmp_path / "art")) == ["1"]  # old versions removed
    if exchange:
        assert None not in seen and len(set(seen)) > 1
    exporter.replace_dir(str(tmp_path / "art" / "1"), str(tmp_path / "art" / "2"))  # a move
    assert sorted(os.listdir(tmp_path / "art")) == ["2"]


def test_parity_failure_exports_nothing(exported, tmp_path, monkeypatch):
    import keras_genart.export.onnx as onnx_export

    real = onnx_export.run_onnx
    monkeypatch.setattr(onnx_export, "run_onnx",
                        lambda path, z, labels=None: real(path, z, labels) + 1e-3)
    with pytest.raises(ExportError, match=r"onnx output differs from Keras by 0.001 .*the limit is 0.0001\); nothing was exported"):
        export_model(exported["model"], tmp_path, name="bad", **QUIET)
    assert not os.path.exists(tmp_path / "bad")  # no empty model folder either


def test_a_wrong_render_signature_exports_nothing(exported, tmp_path, monkeypatch):
    real = tf.io.encode_png
    monkeypatch.setattr(tf.io, "encode_png", lambda pixels: real(pixels // 2))  # dark PNGs
    with pytest.raises(ExportError, match=r"savedmodel:render output differs from Keras by .*"
                                          r"the limit is 0.00392"):
        export_model(exported["model"], tmp_path, name="bad", formats=["savedmodel"], **QUIET)
    assert not os.path.exists(tmp_path / "bad")


def test_missing_onnx_packages_are_one_line_and_leave_no_folder(exported, tmp_path,
                                                                monkeypatch, capsys):
    import sys

    from keras_genart.cli import main

    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # import tf2onnx -> ImportError
    exported["model"].save(tmp_path / "m.keras")
    out = tmp_path / "out"
    assert main(["export", str(tmp_path / "m.keras"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "ONNX export needs tf2onnx, which is not installed here; `pip install " \
        "keras_genart` brings it" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("name", ["../evil", "a/b", "a b", ".hidden", ".."])
def test_bad_names_are_refused(exported, tmp_path, name):
    with pytest.raises(UserInputError, match="model name .* is not allowed"):
        export_model(exported["model"], tmp_path, name=name, **QUIET)


def test_vae_gets_encode_and_reconstruct(tmp_path):
    model = _tiny_trained("vae", tmp_path / "vae.keras")
    metadata = export_model(str(tmp_path / "vae.keras"), tmp_path / "out", **QUIET)
    assert metadata["name"] == "vae"
    assert metadata["signatures"] == ["serving_default", "render", "encode", "reconstruct"]
    parity = metadata["parity_max_abs_diff"]  # every signature was checked at export
    assert {"savedmodel:encode", "savedmodel:reconstruct", "savedmodel:render"} <= set(parity)
    assert parity["savedmodel:encode"] <= 1e-4 and parity["savedmodel:reconstruct"] <= 1e-4
    loaded = tf.saved_model.load(metadata["path"])
    images = model.generate(3, seed=0)
    mean = loaded.signatures["encode"](images=tf.constant(images))["mean"].numpy()
    expected_mean, _ = model.encode(images * 2 - 1)
    assert np.abs(mean - np.asarray(expected_mean)).max() <= 1e-5
    recon = loaded.signatures["reconstruct"](images=tf.constant(images))["images"].numpy()
    assert recon.shape == images.shape and 0 <= recon.min() and recon.max() <= 1
    # encoder.onnx: vary and reconstruct without TensorFlow, as Keras does them.
    assert parity["onnx:encoder"] <= 1e-4
    from keras_genart.serving import Generator

    generator = Generator(metadata["path"])
    assert generator.class_names is None
    expected = model.vary(images[0], n=3, seed=2, spread=0.7)
    assert np.abs(generator.vary(images[0], n=3, seed=2, spread=0.7) / 255.0
                  - expected).max() <= 1 / 255 + 1e-6
    mean, log_var = generator.encode(images)
    assert np.abs(mean - np.asarray(expected_mean)).max() <= 1e-4
    with pytest.raises(ValueError, match="takes no labels"):
        generator.vary(images[0], label=1)


def test_ema_models_export_the_moving_average(tmp_path):
    import onnxruntime as ort

    from keras_genart.models import build_model

    # A gray generator too: its one channel, copied into three, exports alike.
    model = build_model("dcgan", image_size=16, latent_dim=8, base_width=8, seed=0,
                        ema=0.5, upsampling="resize", gray=True)
    model.compile()
    batch = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    model.train_on_batch(batch)
    # An average clearly apart from the raw generator, so that the check can fail.
    for average in model.ema_generator.weights:
        if "kernel" in average.path:
            average.assign(np.asarray(average) * 0.7)
    z = sample_latents(3, 8, seed=4)
    average = model.generate_from_latents(z)  # with the average's own batch-norm statistics
    raw = np.clip((np.asarray(model.generator(z, training=False)) + 1) / 2, 0, 1)
    assert np.abs(average - raw).max() > 1e-2
    metadata = export_model(model, tmp_path / "out", **QUIET)
    session = ort.InferenceSession(os.path.join(metadata["path"], "model.onnx"))
    onnx_images = session.run(None, {"z": z})[0]
    assert np.abs(onnx_images - average).max() <= 1e-4
    assert metadata["gray"] and np.array_equal(onnx_images[..., 0], onnx_images[..., 2])
    served = tf.saved_model.load(metadata["path"]).signatures["serving_default"](
        z=tf.constant(z))["images"].numpy()
    assert np.abs(served - average).max() <= 1e-4


def test_cli_export_from_run_folder(tmp_path):
    from keras_genart.cli import main

    run = tmp_path / "run"
    assert main(["train", "dcgan", "--data", "builtin:abstract:16", "--image-size", "16",
                 "--batch-size", "4", "--latent-dim", "8", "--base-width", "8", "--epochs", "1",
                 "--steps-per-epoch", "1", "--run-dir", str(run), "--quiet"]) == 0
    assert main(["export", str(run), "--out", str(tmp_path / "out"), "--name", "mine",
                 "--formats", "onnx", "--opset", "15"]) == 0
    metadata = json.loads((tmp_path / "out" / "mine" / "1" / "metadata.json").read_text())
    assert metadata["onnx"]["opset"] == 15
    assert metadata["class_names"][0] == "bauhaus"
    assert metadata["training_data"]["num_images"] == 16
    assert metadata["training_config"]["model"]["type"] == "dcgan"
    assert main(["export", str(run), "--out", str(tmp_path / "out"), "--name", "mine",
                 "--version", "1"]) == 2


def _export_while_another_waits(model, root, first, second):
    """Runs export `first` in a thread, holds it between its parity check and its final
    rename, runs export `second` meanwhile, then lets the first one finish.

    Returns the two outcomes (the metadata or the exception raised) and what `root/art`
    held while the first export waited.
    """
    import threading

    from keras_genart.serving.runtime import find_versions

    held, release = threading.Event(), threading.Event()
    outcomes, seen = {}, {}

    def log(line):
        if line.startswith("parity:"):  # after the version was chosen, before the rename
            held.set()
            assert release.wait(120)

    def run(key, kwargs, log):
        try:
            outcomes[key] = export_model(model, root, name="art", formats=["onnx"], log=log,
                                         **kwargs)
        except (Exception, KeyboardInterrupt) as error:  # noqa: B902 (reported, not raised)
            outcomes[key] = error

    thread = threading.Thread(target=run, args=("first", first, log))
    thread.start()
    try:
        assert held.wait(300)
        run("second", second, QUIET["log"])
        seen["entries"] = sorted(os.listdir(root / "art"))
        seen["served"] = find_versions(str(root / "art"))
        seen["snapshot"] = root.parent / "snapshot"
        import shutil

        shutil.copytree(root, seen["snapshot"], symlinks=True)  # what a kill -9 leaves
    finally:
        release.set()
        thread.join()
    return outcomes["first"], outcomes["second"], seen


def test_racing_exports_take_the_next_free_versions(exported, tmp_path):
    root = tmp_path / "models"
    first, second, seen = _export_while_another_waits(exported["model"], root, {}, {})
    assert not isinstance(first, BaseException), first
    assert not isinstance(second, BaseException), second
    assert {first["version"], second["version"]} == {1, 2}
    assert sorted(os.listdir(root / "art")) == ["1", "2"]  # nothing lost, nothing left over
    for metadata in (first, second):
        assert read_metadata(metadata["path"])["version"] == metadata["version"]
        assert os.path.basename(metadata["path"]) == str(metadata["version"])
    # While the first waited, only the finished version was a version folder: the
    # reserved one is hidden from a server polling the folder (and from TF Serving).
    assert [e for e in seen["entries"] if not e.startswith(".")] == [str(second["version"])]
    assert seen["served"] == [second["version"]]


@pytest.mark.parametrize("force", [False, True])
def test_racing_exports_of_one_version_fail_the_second_in_one_line(exported, tmp_path,
                                                                     force):
    root = tmp_path / "models"
    if force:  # --force replaces a finished version, never one being written
        export_model(exported["model"], root, name="art", version=3, formats=["onnx"],
                     **QUIET)
    asked = dict(version=3, force=force)
    first, second, _ = _export_while_another_waits(exported["model"], root, asked, asked)
    assert not isinstance(first, BaseException), first
    assert first["version"] == 3 and read_metadata(first["path"])["version"] == 3
    assert isinstance(second, UserInputError)
    message = str(second)
    assert "\n" not in message
    assert "version 3 of 'art' is being exported by another export" in message
    assert "leave --version out for the next free one" in message
    assert sorted(os.listdir(root / "art")) == ["3"]


def test_an_interrupted_export_leaves_nothing_a_server_loads(exported, tmp_path):
    from keras_genart.serving.runtime import find_versions

    root = tmp_path / "models"

    def interrupt(line):
        if line.startswith("parity:"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_model(exported["model"], root, name="art", formats=["onnx"], log=interrupt)
    assert not root.exists()  # a first export leaves no empty folders either
    # Killed outright while another export waited: the copy holds its reservation as
    # it was. No server loads it, and the next export takes the number over.
    _, second, seen = _export_while_another_waits(exported["model"], root, {}, {})
    crashed = seen["snapshot"] / "art"
    assert find_versions(str(crashed)) == [2]
    assert [e for e in os.listdir(crashed) if not e.startswith(".")] == ["2"]
    again = export_model(exported["model"], seen["snapshot"], name="art", formats=["onnx"],
                         **QUIET)
    assert again["version"] == 3
    assert sorted(os.listdir(crashed)) == ["2", "3"]  # the dead reservation is gone


@pytest.fixture(params=["renameat2", "fallback"])
def version_folders(request, monkeypatch):
    """keras_genart.export.version_folders, with Linux' renameat2 or without it."""
    from keras_genart.export import version_folders

    if request.param == "fallback":
        monkeypatch.setattr(version_folders, "_renameat2", lambda a, b, flags: False)
    return version_folders


def test_reservations_racing_take_distinct_numbers(version_folders, tmp_path):
    import threading

    model_dir = str(tmp_path / "art")
    os.makedirs(os.path.join(model_dir, "4"))
    start, reservations = threading.Barrier(8), []

    def reserve():
        start.wait()
        reservations.append(version_folders.reserve_version(model_dir))

    threads = [threading.Thread(target=reserve) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.version for r in reservations) == list(range(5, 13))
    for reservation in reservations:
        reservation.publish()
        reservation.release()
    assert sorted(os.listdir(model_dir), key=int) == [str(v) for v in range(4, 13)]


def test_a_dead_exports_reservation_is_taken_over(version_folders, tmp_path):
    model_dir = str(tmp_path / "art")
    live = version_folders.reserve_version(model_dir, version=1)
    with pytest.raises(UserInputError, match=r"version 1 of 'art' is being exported by "
                                             r"another export \(process \d+ on "):
        version_folders.reserve_version(model_dir, version=1, force=True)
    other = version_folders.reserve_version(model_dir)
    assert other.version == 2
    live._lock.close()  # the process died: the kernel dropped its lock, nothing else ran
    taken = version_folders.reserve_version(model_dir, version=1)
    assert taken.version == 1 and os.listdir(taken.work_dir) == []
    for reservation in (taken, other):
        reservation.release()
    assert os.listdir(model_dir) == []


def test_a_version_finished_while_reserving_is_not_taken(version_folders, tmp_path,
                                                        monkeypatch):
    model_dir = str(tmp_path / "art")
    claim_name = version_folders._claim_name

    def finish_meanwhile(claim, path):  # another export publishes 1 in between
        os.makedirs(os.path.join(model_dir, "1"), exist_ok=True)
        return claim_name(claim, path)

    monkeypatch.setattr(version_folders, "_claim_name", finish_meanwhile)
    assert version_folders.reserve_version(model_dir).version == 2
    with pytest.raises(UserInputError, match="version 1 of 'art' already exists"):
        version_folders.reserve_version(str(tmp_path / "art"), version=1)


def test_publishing_never_replaces_an_unreserved_version(version_folders, tmp_path):
    model_dir = str(tmp_path / "art")
    reservation = version_folders.reserve_version(model_dir)
    os.makedirs(os.path.join(model_dir, "1", "variables"))  # written by something else
    with pytest.raises(ExportError, match="version 1 of 'art' appeared in .* nothing was "
                                          "replaced"):
        reservation.publish()
    reservation.release()
    assert os.listdir(model_dir) == ["1"] and os.listdir(os.path.join(model_dir, "1")) == [
        "variables"]
