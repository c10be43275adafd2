"""The one build step setup.cfg cannot say: copy the studio's onnxruntime-web files into the
wheel and the sdist (keras_genart/serving/studio/vendor), from where `npm ci` put them.

Everything else (metadata, packages, package data) is in setup.cfg.
"""

import importlib.util
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))


def _studio_assets():
    # Loaded from its file: importing keras_genart.serving would need its dependencies,
    # which a build environment does not have.
    path = os.path.join(HERE, "serving", "studio_assets.py")
    spec = importlib.util.spec_from_file_location("_genart_studio_assets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_studio_assets(destination):
    """Copies the studio's onnxruntime-web files into `destination`, or warns without them."""
    assets = _studio_assets()
    source = assets.assets_dir()
    if source is None:
        print(f"warning: building keras_genart without the studio's onnxruntime-web files "
              f"({', '.join(assets.missing_assets())}): {assets.HINT}")
        return
    os.makedirs(destination, exist_ok=True)
    for name in assets.ASSET_FILES:
        target = os.path.join(destination, name)
        if os.path.exists(target):  # an sdist's release tree hard-links: never write through
            os.remove(target)
        shutil.copyfile(os.path.join(source, name), target)


class BuildPy(build_py):
    def run(self):
        super().run()
        # An editable install serves them from serving/node/node_modules where they are.
        if not getattr(self, "editable_mode", False):
            copy_studio_assets(os.path.join(self.build_lib, "keras_genart", "serving",
                                            "studio", "vendor"))


class Sdist(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        # setup.cfg's package data (studio/vendor/*) takes them from here into a wheel
        # built from the sdist, where no node_modules is.
        copy_studio_assets(os.path.join(base_dir, "serving", "studio", "vendor"))


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
