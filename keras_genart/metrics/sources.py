"""Where the real pictures to judge against come from: a data source.

The generated ones come from `keras_genart.artifacts.generated_pictures` (a run,
a `.keras` file, an exported version or a folder), which the caller passes in:
metrics sit below the module that opens models and exported versions.
"""

import numpy as np

from keras_genart.errors import UserInputError


def real_pictures(source, image_size, n, seed=0, tfds_data_dir=None, data_seed=None):
    """`(n real pictures, all pictures, description, classes)`, uint8 at `image_size`.

    The n are a seeded random subset (all of them when the source has n);
    all pictures serve the novelty check. `classes` is `(labels of the n,
    class names)`, or None when the source has no classes. `data_seed` is
    the seed `builtin:` data is drawn with: the one the model trained on, so
    that the novelty check sees its training pictures (`seed` when None).
    The description has it (`seed`) for `builtin:` data.
    """
    from keras_genart.data import load_images

    data = load_images(source, image_size=image_size,
                       seed=seed if data_seed is None else data_seed,
                       tfds_data_dir=tfds_data_dir)
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
    described = {"source": source, "pictures": data.num_images, "used": n}
    if "seed" in data.summary:
        described["seed"] = data.summary["seed"]
    return data.images[chosen], data.images, described, classes
