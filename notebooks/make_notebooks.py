"""Writes the notebooks from plain Python cells, so that diffs stay readable.

    python notebooks/make_notebooks.py             # write them without outputs
    python notebooks/make_notebooks.py --execute   # ...and run them here, keeping the outputs

The committed notebooks are executed with their real settings (32 px, a few
minutes on two CPU cores), so a reader sees pictures on the repository page.
The test suite runs them again with GENART_NOTEBOOK_QUICK=1 (tiny settings).
Everything they write goes under `notebooks/notebook-output/` (ignored by git).
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
        "saves and reloads it. The settings below train 1,500 steps at 32 px (a few\n"
        "minutes on two CPU cores): Mondrian-like pictures, not yet sharp. For better ones\n"
        "raise `EPOCHS` (each epoch is `STEPS` steps; `genart demo` trains the default\n"
        "DCGAN, which learns the five styles through its latents, for 8 x 250 steps). The\n"
        "test suite runs this notebook with tiny settings (`GENART_NOTEBOOK_QUICK=1`).\n"
        "Everything it writes goes into `notebook-output/`."),
    new_code_cell(
        "import os\n"
        "import keras_genart\n"
        "keras_genart.quiet_tensorflow()  # TensorFlow's start-up lines, silenced\n"
        "QUICK = os.environ.get('GENART_NOTEBOOK_QUICK') == '1'  # the test suite's tiny run\n\n"
        "IMAGE_SIZE = 16 if QUICK else 32   # 16, 32, 64 or 128\n"
        "WIDTH = 8 if QUICK else 32         # filters at the highest resolution\n"
        "LATENT_DIM = 16 if QUICK else 64\n"
        "BATCH_SIZE = 4 if QUICK else 64\n"
        "EPOCHS = 2 if QUICK else 6\n"
        "STEPS = 2 if QUICK else 250        # steps per epoch\n"
        "PICTURES = 64 if QUICK else 4096   # built-in Mondrian pictures to train on\n"
        "OUT = 'notebook-output'\n"
        "RUN_DIR = os.path.join(OUT, 'quickstart-run')\n"
        "os.makedirs(OUT, exist_ok=True)"),
    new_markdown_cell(
        "## Data\n"
        "`load_images` reads a folder, `tfds:NAME[:SPLIT]` or `builtin:NAME[:COUNT]`; "
        "`make_dataset` shuffles, batches and scales to [-1, 1], the same on every Keras backend."),
    new_code_cell(
        "from keras_genart.data import load_images, make_dataset\n\n"
        "data = load_images(f'builtin:mondrian:{PICTURES}', image_size=IMAGE_SIZE, seed=0)\n"
        "print(data.describe())\n"
        "dataset = make_dataset(data, BATCH_SIZE, seed=0)\n"
        "batch = next(iter(dataset))\n"
        "images = batch[0]  # batches are (images,) or (images, labels)\n"
        "print(images.shape, float(images.min()), float(images.max()))"),
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
        "from keras_genart.callbacks import EpochSummaries, ImageGridCallback\n\n"
        "callbacks = [  # both write TensorBoard files on any backend, no TensorFlow needed\n"
        "    EpochSummaries(os.path.join(RUN_DIR, 'logs')),\n"
        "    ImageGridCallback(os.path.join(RUN_DIR, 'samples'), os.path.join(RUN_DIR, 'logs'),\n"
        "                      n=16, seed=0),\n"
        "]\n"
        "history = model.fit(dataset, epochs=EPOCHS, steps_per_epoch=STEPS,\n"
        "                    callbacks=callbacks, verbose=0)\n"
        "print({k: round(v[-1], 4) for k, v in history.history.items()})\n"
        "print(sorted(os.listdir(os.path.join(RUN_DIR, 'samples'))))\n"
        "# In a terminal: tensorboard --logdir notebook-output/quickstart-run/logs"),
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
        "imaging.save_png(os.path.join(OUT, 'quickstart.png'), imaging.make_grid(images))\n"
        "Show(os.path.join(OUT, 'quickstart.png'), width=256)"),
    new_markdown_cell("## Save, load, continue"),
    new_code_cell(
        "import numpy as np\n\n"
        "model.save(os.path.join(OUT, 'quickstart.keras'))\n"
        "restored = keras.saving.load_model(os.path.join(OUT, 'quickstart.keras'))\n"
        "assert int(restored.g_optimizer.iterations) == int(model.g_optimizer.iterations)\n"
        "np.testing.assert_allclose(restored.generate(4, seed=1), model.generate(4, seed=1))\n"
        "restored.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)\n"
        "print('continued to step', int(restored.g_optimizer.iterations))"),
]


EXPORT_AND_SERVE = [
    new_markdown_cell(
        "# Export a generator and serve it without TensorFlow\n\n"
        "Train a small DCGAN (600 steps at 32 px: rough pictures; the test suite runs it\n"
        "tiny with `GENART_NOTEBOOK_QUICK=1`), export it as a TF Serving SavedModel and\n"
        "ONNX, sample it with onnxruntime, and call the TF-Serving-style REST server.\n"
        "Everything it writes goes into `notebook-output/`."),
    new_code_cell(
        "import os\n"
        "import keras_genart\n"
        "keras_genart.quiet_tensorflow()  # TensorFlow's start-up lines, silenced\n"
        "QUICK = os.environ.get('GENART_NOTEBOOK_QUICK') == '1'\n\n"
        "IMAGE_SIZE, WIDTH, LATENT_DIM = (16, 8, 16) if QUICK else (32, 32, 64)\n"
        "BATCH_SIZE, STEPS = (4, 2) if QUICK else (64, 600)\n"
        "OUT = 'notebook-output'\n"
        "EXPORT_DIR = os.path.join(OUT, 'exported')\n"
        "os.makedirs(OUT, exist_ok=True)"),
    new_code_cell(
        "from keras_genart.data import load_images, make_dataset\n"
        "from keras_genart.models import build_model\n\n"
        "model = build_model('dcgan', image_size=IMAGE_SIZE, latent_dim=LATENT_DIM,\n"
        "                    base_width=WIDTH, seed=0)\n"
        "model.compile()\n"
        "data = make_dataset(load_images('builtin:mondrian:2048', image_size=IMAGE_SIZE),\n"
        "                    BATCH_SIZE)\n"
        "model.fit(data, epochs=1, steps_per_epoch=STEPS, verbose=0);"),
    new_markdown_cell(
        "## Export\n"
        "`export_model` writes `exported/NAME/VERSION/` (SavedModel + `model.onnx` +\n"
        "`metadata.json`) and fails if the SavedModel or ONNX output differs from Keras by\n"
        "more than 1e-4. `genart export RUN --out exported` does the same from the shell."),
    new_code_cell(
        "from keras_genart.export import export_model\n\n"
        "info = export_model(model, EXPORT_DIR, name='art', force=True, version=1)\n"
        "print(info['path'], info['signatures'], info['parity_max_abs_diff'])\n"
        "print(sorted(os.listdir(info['path'])))"),
    new_markdown_cell(
        "## Sample with onnxruntime\n"
        "`keras_genart.serving` needs NumPy, onnxruntime and Pillow only. The same seed gives\n"
        "the same picture as `model.generate`."),
    new_code_cell(
        "import numpy as np\n"
        "from IPython.display import Image as Show\n"
        "from keras_genart.serving import Generator\n\n"
        "gen = Generator(info['path'])\n"
        "print(gen)\n"
        "difference = np.abs(gen.run(gen.latents(4, seed=1)) - model.generate(4, seed=1)).max()\n"
        "print('max |onnxruntime - keras| =', difference)\n"
        "assert difference <= 1e-4\n"
        "grid = os.path.join(OUT, 'onnx-grid.png')\n"
        "with open(grid, 'wb') as f:\n"
        "    f.write(gen.sample_png(16, seed=0))\n"
        "Show(grid, width=256)"),
    new_markdown_cell(
        "## Call the server\n"
        "`genart serve exported` speaks TensorFlow Serving's REST API. Here it runs in a\n"
        "background thread on a free local port."),
    new_code_cell(
        "import json, socket, threading, time, urllib.request\n"
        "import uvicorn\n"
        "from keras_genart.serving.server import create_app\n\n"
        "with socket.socket() as s:\n"
        "    s.bind(('127.0.0.1', 0))\n"
        "    port = s.getsockname()[1]\n"
        "server = uvicorn.Server(uvicorn.Config(create_app(EXPORT_DIR), host='127.0.0.1',\n"
        "                                       port=port, log_level='warning'))\n"
        "threading.Thread(target=server.run, daemon=True).start()\n"
        "while not server.started:\n"
        "    time.sleep(0.05)\n"
        "base = f'http://127.0.0.1:{port}/v1/models/art'\n"
        "print(json.load(urllib.request.urlopen(base)))"),
    new_code_cell(
        "z = gen.latents(2, seed=1).tolist()\n"
        "request = urllib.request.Request(base + ':predict',\n"
        "                                 data=json.dumps({'instances': z}).encode(),\n"
        "                                 headers={'Content-Type': 'application/json'})\n"
        "predictions = np.array(json.load(urllib.request.urlopen(request))['predictions'])\n"
        "print('server predictions', predictions.shape,\n"
        "      'max |server - keras| =', np.abs(predictions - model.generate(2, seed=1)).max())\n"
        "server.should_exit = True"),
]


def write(name, cells, execute=False):
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    if execute:
        from nbclient import NotebookClient

        os.makedirs(os.path.join(HERE, "notebook-output"), exist_ok=True)
        NotebookClient(notebook, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": HERE}}).execute()
    nbformat.write(notebook, os.path.join(HERE, name))


if __name__ == "__main__":
    import sys

    execute = "--execute" in sys.argv
    os.environ.pop("GENART_NOTEBOOK_QUICK", None)
    write("01_quickstart.ipynb", QUICKSTART, execute)
    write("02_export_and_serve.ipynb", EXPORT_AND_SERVE, execute)
