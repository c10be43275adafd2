import io
import os

import numpy as np
import pytest
from PIL import Image

from keras_genart.data import builtin_art, load_image_folder, load_images, make_dataset
from keras_genart.errors import UserInputError


# --- built-in art ------------------------------------------------------------

def test_builtin_is_deterministic_per_seed_and_index():
    a, la, names = builtin_art.make_art("abstract", 10, 16, seed=3)
    b, lb, _ = builtin_art.make_art("abstract", 20, 16, seed=3)
    c, _, _ = builtin_art.make_art("abstract", 10, 16, seed=4)
    np.testing.assert_array_equal(a, b[:10])  # image i depends on (seed, i) only
    np.testing.assert_array_equal(la, lb[:10])
    assert not np.array_equal(a, c)
    assert names == list(builtin_art.STYLES) and len(names) >= 4


def test_builtin_classes_are_balanced_and_distinct():
    images, labels, names = builtin_art.make_art("abstract", 50, 32, seed=0)
    assert images.shape == (50, 32, 32, 3) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [10] * len(names)
    # The styles differ visibly: their mean colour statistics are not alike.
    means = np.stack([images[labels == k].reshape(-1, 3).mean(0) for k in range(len(names))])
    distances = np.linalg.norm(means[:, None] - means[None], axis=-1)
    assert distances[np.triu_indices(len(names), 1)].min() > 3.0
    # Not flat: every image has contrast.
    assert (images.reshape(50, -1).std(axis=1) > 20).all()


@pytest.mark.parametrize("size", [16, 64, 128])
def test_builtin_sizes(size):
    images, _, _ = builtin_art.make_art("mondrian", 2, size, seed=0)
    assert images.shape == (2, size, size, 3)


def test_builtin_source_strings():
    data = load_images("builtin:kandinsky:12", image_size=16)
    assert data.num_images == 12 and data.class_names == []
    data = load_images("builtin:abstract:10", image_size=16)
    assert data.class_names == list(builtin_art.STYLES)
    with pytest.raises(UserInputError, match="unknown built-in data set 'picasso'.*builtin:abstract"):
        load_images("builtin:picasso")
    with pytest.raises(UserInputError, match="bad image count 'x'"):
        load_images("builtin:abstract:x")


# --- the pipeline -----------------------------------------------------------------

def test_pipeline_batches_scaled_images_with_labels():
    ds = make_dataset(load_images("builtin:abstract:20", image_size=16), 4, seed=0)
    images, labels = next(iter(ds))
    assert images.shape == (4, 16, 16, 3) and labels.shape == (4,)
    assert images.dtype.name == "float32"
    assert -1.0 <= float(images.min()) and float(images.max()) <= 1.0
    assert float(images.min()) < -0.5 and float(images.max()) > 0.5


def test_pipeline_refuses_batch_larger_than_data():
    with pytest.raises(UserInputError, match="has 5 usable images, fewer than the batch size 8"):
        make_dataset(load_images("builtin:abstract:5", image_size=16), 8)


# --- image folders ------------------------------------------------------------


def _png(path, image, **kw):
    image.save(path, format="PNG", **kw)


def _gradient(w, h):
    x = np.linspace(0, 255, w, dtype=np.float32)
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    return np.stack([np.broadcast_to(x, (h, w)), np.broadcast_to(y, (h, w)),
                     np.full((h, w), 128.0)], -1).astype(np.uint8)


@pytest.fixture
def messy_folder(tmp_path):
    root = tmp_path / "art"
    good, odd = root / "good", root / "odd"
    good.mkdir(parents=True)
    odd.mkdir()
    Image.fromarray(_gradient(40, 30)).save(good / "plain.jpg", quality=95)
    Image.fromarray(_gradient(32, 32)).save(good / "plain.webp")
    Image.fromarray(_gradient(32, 32)).save(good / "plain.bmp")
    frames = [Image.fromarray(_gradient(32, 32)).convert("P"),
              Image.new("P", (32, 32), 3)]
    frames[0].save(good / "anim.gif", save_all=True, append_images=frames[1:])
    # CMYK JPEG
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(odd / "cmyk.jpg")
    # Palette PNG with a transparent index.
    pal = Image.new("P", (32, 32), 0)
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.paste(1, (16, 0, 32, 32))
    pal.save(odd / "palette.png", transparency=0)
    # 16-bit grayscale PNG (mid grey).
    Image.fromarray(np.full((32, 32), 32768, np.uint16)).save(odd / "deep.png")
    # EXIF-rotated JPEG: stored 40 wide x 20 high, red left half; orientation 6
    # (rotate 90 clockwise to display) makes it 20 x 40 with red on top.
    rotated = np.zeros((20, 40, 3), np.uint8)
    rotated[:, :20] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rotated).save(odd / "rotated.jpg", exif=exif.tobytes(), quality=95)
    # RGBA: fully transparent -> white.
    Image.new("RGBA", (32, 32), (0, 0, 0, 0)).save(odd / "clear.png")
    # Bad files.
    (good / "empty.png").write_bytes(b"")
    (good / "text.png").write_text("this is not a png")
    buffer = io.BytesIO()
    Image.fromarray(_gradient(64, 64)).save(buffer, format="JPEG")
    (good / "truncated.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    Image.fromarray(_gradient(4, 4)).save(good / "tiny.png")
    (good / "notes.txt").write_text("hello")
    Image.fromarray(_gradient(32, 32)).save(root / "loose.png")
    return root


def test_image_folder_cleans_and_counts(messy_folder):
    images, labels, names, summary = load_image_folder(messy_folder, 16)
    assert names == ["good", "odd"]
    assert images.shape == (9, 16, 16, 3) and images.dtype == np.uint8
    assert summary["kept"] == 9
    assert summary["reasons"] == {
        "empty file": 1, "not in a class sub-folder": 1,
        "not an image file": 1, "too small (< 8 px)": 1, "truncated": 1, "unreadable": 1,
    }
    assert summary["skipped"] == 6
    assert np.bincount(labels).tolist() == [4, 5]


def _load_one(folder, name, size=16):
    from keras_genart.data.image_folder import load_image

    return load_image(os.path.join(folder, name), size, 8)


def test_image_folder_converts_modes(messy_folder):
    odd = messy_folder / "odd"
    cmyk = _load_one(odd, "cmyk.jpg")
    assert cmyk.shape == (16, 16, 3) and cmyk[..., 0].mean() > 200 and cmyk[..., 1].mean() < 60
    palette = _load_one(odd, "palette.png")
    np.testing.assert_array_equal(palette[8, 2], [255, 255, 255])  # transparent -> white
    assert palette[8, 13, 2] > 200 and palette[8, 13, 0] < 60  # opaque blue half
    deep = _load_one(odd, "deep.png")
    assert abs(int(deep.mean()) - 128) <= 2  # 32768 / 65535 of full scale
    assert _load_one(odd, "clear.png").min() == 255


def test_image_folder_respects_exif_orientation(messy_folder):
    image = _load_one(messy_folder / "odd", "rotated.jpg")
    # Displayed upright the red half is on top; after the centre crop to
    # 20 x 20 the crop straddles the boundary: top rows red, bottom rows black.
    assert image[1, 8, 0] > 200 and image[-2, 8, 0] < 60


def test_image_folder_without_subfolders_has_no_labels(tmp_path):
    for i in range(3):
        Image.fromarray(_gradient(20 + i, 20)).save(tmp_path / f"{i}.png")
    images, labels, names, summary = load_image_folder(tmp_path, 16)
    assert labels is None and names == [] and summary["kept"] == 3


def test_image_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(UserInputError, match="'.*missing' does not exist"):
        load_images(str(tmp_path / "missing"))
    (tmp_path / "junk.png").write_text("nope")
    with pytest.raises(UserInputError, match=f"no usable image in folder '{tmp_path}'.*1 unreadable"):
        load_images(str(tmp_path))


def test_folder_source_describes_itself(messy_folder):
    data = load_images(str(messy_folder), image_size=16)
    line = data.describe()
    assert "kept 9, skipped 6" in line and "2 classes" in line
    images, labels = next(iter(make_dataset(data, 4)))
    assert images.shape == (4, 16, 16, 3)
    assert not data.grayscale  # the folder holds colour pictures


def test_gray_pictures_are_told_from_colour_ones(tmp_path):
    """`grayscale`: gray PNGs, and gray JPEGs saved in colour (their channels differ
    by a level or two), are gray; one tinted picture among them makes the data colour."""
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(
            tmp_path / f"gray{i}.png")
    gray = rng.integers(0, 256, (20, 20, 1), dtype=np.uint8)
    Image.fromarray(np.repeat(gray, 3, axis=2)).save(tmp_path / "gray.jpg", quality=90)
    data = load_images(str(tmp_path), image_size=16)
    assert data.grayscale and data.describe().endswith(", gray")
    sepia = np.repeat(gray, 3, axis=2).astype(np.int16) + [12, 0, -12]
    Image.fromarray(sepia.clip(0, 255).astype(np.uint8)).save(tmp_path / "sepia.png")
    data = load_images(str(tmp_path), image_size=16)
    assert not data.grayscale and not data.describe().endswith(", gray")
    assert not load_images("builtin:abstract:8", image_size=16).grayscale


# --- TFDS -----------------------------------------------------------------------

def test_tfds_source_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        data = load_images("tfds:mnist:train", image_size=16)
        assert data.num_images == 12
        assert data.class_names == [str(i) for i in range(10)]
        images, labels = next(iter(make_dataset(data, 4)))
    assert images.shape == (4, 16, 16, 3) and labels.shape == (4,)
    # Grayscale became RGB: the three channels are equal.
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
    assert data.grayscale


def test_tfds_not_prepared_says_what_to_do(tmp_path):
    with pytest.raises(UserInputError, match="not prepared.*tfds build mnist.*never downloads"):
        load_images("tfds:mnist", tfds_data_dir=str(tmp_path))


def test_tfds_unknown_name():
    with pytest.raises(UserInputError, match="unknown TFDS data set 'no_such_set'"):
        load_images("tfds:no_such_set")


def test_batches_are_a_function_of_the_step_and_shards_split_them():
    from keras_genart.data.pipeline import ImageBatches

    data = load_images("builtin:abstract:20", image_size=16)
    batches = ImageBatches(data, 4, seed=3)
    whole = [b[0] for b in batches.iterate(0, 12)]
    # Resuming at step 7 gives what the uninterrupted stream gave at step 7.
    np.testing.assert_array_equal(next(batches.iterate(7))[0], whole[7])
    # Each pass over the 20 images (5 steps) visits every image once, in a new order.
    first_pass = np.concatenate([b.reshape(4, -1) for b in whole[:5]])
    assert len({row.tobytes() for row in first_pass}) == len({i.tobytes() for i in
                                                             data.images.reshape(20, -1)})
    assert not np.array_equal(whole[0], whole[5])
    # Two processes' shards put together are the global batch.
    halves = [ImageBatches(data, 4, seed=3, shard=(i, 2)).batch_at(9) for i in range(2)]
    np.testing.assert_array_equal(np.concatenate([h[0] for h in halves]), whole[9])
    np.testing.assert_array_equal(np.concatenate([h[1] for h in halves]),
                                  batches.batch_at(9)[1])
    with pytest.raises(UserInputError, match="does not split evenly over 3 processes"):
        ImageBatches(data, 4, shard=(0, 3))


def test_balanced_batches_draw_every_class_equally_and_resume_exactly():
    from keras_genart.data import ImageData
    from keras_genart.data.pipeline import ImageBatches

    images = np.arange(16, dtype=np.uint8).reshape(16, 1, 1, 1).repeat(3, axis=3)
    labels = np.array([0] * 12 + [1] * 4, np.int32)  # 3:1
    data = ImageData(images, labels, 16, 1, ["common", "rare"], {"source": "test"})
    batches = ImageBatches(data, 4, seed=3, balanced=True)
    one_pass = [batches.batch_at(step) for step in range(batches.steps_per_pass)]
    seen = np.concatenate([b[1] for b in one_pass])
    assert np.bincount(seen).tolist() == [8, 8]  # half and half, not 12 and 4
    rare = np.concatenate([b[0][b[1] == 1, 0, 0, 0] for b in one_pass])
    assert sorted(np.unique(rare, return_counts=True)[1].tolist()) == [2, 2, 2, 2]
    # Labels stay with their images: the rare class is pictures 12..15.
    assert set(np.round((rare + 1) * 127.5).astype(int).tolist()) == {12, 13, 14, 15}
    again = ImageBatches(data, 4, seed=3, balanced=True)
    np.testing.assert_array_equal(again.batch_at(5)[0], batches.batch_at(5)[0])
    with pytest.raises(UserInputError, match="no classes to balance"):
        ImageBatches(ImageData(images, None, 16, 1, [], {"source": "test"}), 4, balanced=True)
