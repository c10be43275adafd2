import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402


@pytest.fixture
def tiny_data():
    """16 px built-in art: 32 images, batch 4, repeated."""
    from keras_genart.data import load_images, make_dataset

    return make_dataset(load_images("builtin:abstract:32", image_size=16), 4, seed=0)


def _tiny_trained(model_type, path):
    from keras_genart.data import load_images, make_dataset
    from keras_genart.models import build_model

    model = build_model(model_type, image_size=16, latent_dim=8, base_width=8, seed=0)
    model.compile()
    dataset = make_dataset(load_images("builtin:abstract:16", image_size=16), 4, seed=0)
    model.fit(dataset, epochs=1, steps_per_epoch=2, verbose=0)
    model.save(path)
    return model


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """A tiny trained DCGAN exported as version 1 under `root/dcgan`."""
    from keras_genart.export import export_model

    base = tmp_path_factory.mktemp("exported")
    model = _tiny_trained("dcgan", base / "dcgan.keras")
    root = base / "models"
    metadata = export_model(model, root, log=lambda *_: None)
    return {"model": model, "root": root, "version_dir": metadata["path"],
            "metadata": metadata, "keras_path": base / "dcgan.keras"}


@pytest.fixture(scope="session")
def node_app(tmp_path_factory):
    """serving/node's example with its packages installed (`npm ci`), once per session."""
    import shutil
    import subprocess

    here = os.path.join(os.path.dirname(os.path.dirname(__file__)), "serving", "node")
    app = tmp_path_factory.mktemp("node")
    for name in ("package.json", "package-lock.json", "generate.js", "latents.js", "png.js"):
        shutil.copy(os.path.join(here, name), app / name)
    env = {**os.environ, "ONNXRUNTIME_NODE_INSTALL_CUDA": "skip"}
    install = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=app, env=env,
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    return app
