"""Where the pictures to judge come from: a run, a `.keras` file, an export, or a folder."""

import os

import numpy as np

from keras_genart.errors import UserInputError


def generated_pictures(model=None, folder=None, n=5000, seed=0, image_size=None):
    """Generated pictures as uint8 `(n, s, s, 3)`, and a description for the report.

    Args:
        model: str. A run folder, a `.keras` file or an exported version folder
            (`metadata.json` + `model.onnx`, run with onnxruntime: no
            TensorFlow needed).
        folder: str. A folder of pictures made by any tool (instead of `model`).
        n: int. Pictures to generate from a model. Defaults to 5000.
        seed: int. Seed of the latents. Defaults to 0.
        image_size: int. Side the folder's pictures are resized to. Defaults
            to 32.
    """
    from keras_genart import imaging

    if (model is None) == (folder is None):
        raise UserInputError("evaluate one thing: a model (run folder, .keras file or exported "
                             "version) or --generated FOLDER")
    if folder is not None:
        from keras_genart.data.image_folder import load_image_folder

        images, _, _, summary = load_image_folder(folder, image_size or 32)
        if len(images) < 2:
            raise UserInputError(f"'{folder}' has {len(images)} usable pictures; evaluation "
                                 "needs at least 2")
        return images, {"kind": "folder", "path": os.path.abspath(folder),
                        "kept": summary.get("kept", len(images))}
    if os.path.isdir(model) and os.path.exists(os.path.join(model, "model.onnx")):
        from keras_genart.serving import Generator

        generator = Generator(model)
        images = np.asarray(generator.sample(n, seed=seed))
        return images, {"kind": "exported", "path": os.path.abspath(model),
                        "model_type": generator.metadata.get("model_type"), "seed": seed}
    from keras_genart.runs import load_trained_model

    trained = load_trained_model(model)
    images = imaging.to_uint8(trained.generate(n, seed=seed))
    return images, {"kind": "keras", "path": os.path.abspath(model),
                    "model_type": trained.model_type, "seed": seed}


def real_pictures(source, image_size, n, seed=0, tfds_data_dir=None):
    """`(n real pictures, all pictures, description, classes)`, uint8 at `image_size`.

    The n are a seeded random subset (all of them when the source has n);
    all pictures serve the novelty check. `classes` is `(labels of the n,
    class names)`, or None when the source has no classes.
    """
    from keras_genart.data import load_images

    data = load_images(source, image_size=image_size, seed=seed, tfds_data_dir=tfds_data_dir)
    if data.num_images < 2:
        raise UserInputError(f"{source!r} has {data.num_images} usable pictures; evaluation "
                             "needs at least 2")
    if n > data.num_images:
        raise UserInputError(
            f"--n {n} is more than the {data.num_images} pictures of {source!r}; pass "
            f"--n {data.num_images} or less (or more data)")
    chosen = np.sort(np.random.default_rng(seed).choice(data.num_images, n, replace=False))
    classes = None if data.labels is None or not data.class_names else (
        np.asarray(data.labels)[chosen], list(data.class_names))
    return data.images[chosen], data.images, {"source": source, "pictures": data.num_images,
                                              "used": n}, classes
