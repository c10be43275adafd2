"""Writes the notebooks from plain Python cells, so that diffs stay readable.

    python notebooks/make_notebooks.py
"""

import os

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = os.path.dirname(os.path.abspath(__file__))

QUICKSTART = [
    new_markdown_cell(
        "# keras_genart quickstart: train a generative art model with `fit`\n\n"
        "This notebook trains a DCGAN on the built-in procedural art set with plain Keras\n"
        "`fit`, watches it with TensorBoard and the image-grid callback, then samples,\n"
        "saves and reloads it. The settings below are tiny so that the test suite can run\n"
        "the notebook in seconds; raise them (for example `IMAGE_SIZE = 32`, `STEPS = 5000`,\n"
        "`WIDTH = 32`) for pictures worth looking at."),
    new_code_cell(
        "import os\n"
        "os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n\n"
        "IMAGE_SIZE = 16   # 16, 32, 64 or 128\n"
        "WIDTH = 8         # filters at the highest resolution\n"
        "LATENT_DIM = 16\n"
        "BATCH_SIZE = 4\n"
        "EPOCHS = 2\n"
        "STEPS = 2         # steps per epoch\n"
        "RUN_DIR = 'quickstart-run'"),
    new_markdown_cell(
        "## Data\n"
        "`load_images` reads a folder, `tfds:NAME[:SPLIT]` or `builtin:NAME[:COUNT]`; "
        "`make_dataset` caches, shuffles, batches and scales to [-1, 1]."),
    new_code_cell(
        "from keras_genart.data import load_images, make_dataset\n\n"
        "data = load_images('builtin:mondrian:64', image_size=IMAGE_SIZE, seed=0)\n"
        "print(data.describe())\n"
        "dataset = make_dataset(data, BATCH_SIZE, seed=0)\n"
        "batch = next(iter(dataset))\n"
        "print(batch.shape, float(batch.numpy().min()), float(batch.numpy().max()))"),
    new_markdown_cell(
        "## Model\n"
        "A model is networks (functional Keras models) plus a training algorithm (a\n"
        "`keras.Model` that owns `train_step`). `build_model` puts the two together."),
    new_code_cell(
        "import keras\n"
        "from keras_genart.models import build_model\n\n"
        "model = build_model('dcgan', image_size=IMAGE_SIZE, latent_dim=LATENT_DIM,\n"
        "                    base_width=WIDTH, augmentation=['flip'], seed=0)\n"
        "model.compile(g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),\n"
        "              d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))\n"
        "model.generator.summary()"),
    new_markdown_cell("## Train with `fit`, watched by TensorBoard"),
    new_code_cell(
        "from keras_genart.callbacks import ImageGridCallback\n\n"
        "callbacks = [\n"
        "    keras.callbacks.TensorBoard(os.path.join(RUN_DIR, 'logs'), write_graph=False),\n"
        "    ImageGridCallback(os.path.join(RUN_DIR, 'samples'), os.path.join(RUN_DIR, 'logs'),\n"
        "                      n=16, seed=0),\n"
        "]\n"
        "history = model.fit(dataset, epochs=EPOCHS, steps_per_epoch=STEPS,\n"
        "                    callbacks=callbacks, verbose=0)\n"
        "print({k: round(v[-1], 4) for k, v in history.history.items()})\n"
        "print(sorted(os.listdir(os.path.join(RUN_DIR, 'samples'))))\n"
        "# In a terminal: tensorboard --logdir quickstart-run/logs"),
    new_markdown_cell(
        "## Generate\n"
        "`generate(n, seed)` draws latents with `numpy.random.default_rng(seed)"
        ".standard_normal((n, latent_dim))` — the same recipe as `genart sample` — and\n"
        "returns images in [0, 1]."),
    new_code_cell(
        "from IPython.display import Image as Show\n"
        "from keras_genart import imaging\n\n"
        "images = model.generate(16, seed=1)\n"
        "print(images.shape, images.min() >= 0, images.max() <= 1)\n"
        "imaging.save_png('quickstart.png', imaging.make_grid(images))\n"
        "Show('quickstart.png')"),
    new_markdown_cell("## Save, load, continue"),
    new_code_cell(
        "import numpy as np\n\n"
        "model.save('quickstart.keras')\n"
        "restored = keras.saving.load_model('quickstart.keras')\n"
        "assert int(restored.g_optimizer.iterations) == int(model.g_optimizer.iterations)\n"
        "np.testing.assert_allclose(restored.generate(4, seed=1), model.generate(4, seed=1))\n"
        "restored.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)\n"
        "print('continued to step', int(restored.g_optimizer.iterations))"),
]


def write(name, cells):
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.write(notebook, os.path.join(HERE, name))


if __name__ == "__main__":
    write("01_quickstart.ipynb", QUICKSTART)
