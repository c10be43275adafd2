import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402


@pytest.fixture
def tiny_data():
    """16 px built-in art: 32 images, batch 4, repeated."""
    from keras_genart.data import load_images, make_dataset

    return make_dataset(load_images("builtin:abstract:32", image_size=16), 4, seed=0)
