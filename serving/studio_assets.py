"""Where the studio's onnxruntime-web files are, and how to get them when they are not.

The files are not in git: npm installs them from `serving/node/package-lock.json` (one
onnxruntime version, with its integrity hash, for the studio and the Node example), and
`setup.py` copies them into the wheel and the sdist. This module imports only `os`, so that
`setup.py` can load it without installing anything.
"""

import os

_HERE = os.path.dirname(os.path.abspath(__file__))

# What the studio's worker loads: onnxruntime-web's WebGPU build (a UMD script), its loader
# and its SIMD wasm binary, which runs the WebAssembly CPU backend too.
ASSET_FILES = ("ort.webgpu.min.js", "ort-wasm-simd-threaded.asyncify.mjs",
               "ort-wasm-simd-threaded.asyncify.wasm")
# A wheel or an sdist: copied here at build time.
PACKAGED_DIR = os.path.join(_HERE, "studio", "vendor")
# A checkout (how `make` installs: editable): where `npm ci` in serving/node puts them.
NPM_DIR = os.path.join(_HERE, "node", "node_modules", "onnxruntime-web", "dist")
HINT = ("run `make assets` in the keras_genart checkout (npm ci in serving/node, from its "
        "lockfile), or install a keras_genart wheel built with them")


def _missing_in(folder):
    return [name for name in ASSET_FILES if not os.path.isfile(os.path.join(folder, name))]


def assets_dir():
    """The folder that holds all of `ASSET_FILES`, or None.

    The package's `studio/vendor` (a wheel or an sdist) comes first, then npm's
    `node_modules` beside the Node example (a checkout after `npm ci`).
    """
    for folder in (PACKAGED_DIR, NPM_DIR):
        if not _missing_in(folder):
            return folder
    return None


def missing_assets():
    """The names of `ASSET_FILES` the studio lacks: empty when it has them all."""
    return min((_missing_in(folder) for folder in (PACKAGED_DIR, NPM_DIR)), key=len)


def asset_file(name):
    """The path of the studio asset `name` (one of `ASSET_FILES`), or None when missing.

    Args:
        name: str. a file name of `ASSET_FILES`, as in the URL `/studio/vendor/NAME`.
    """
    folder = assets_dir()
    return None if folder is None or name not in ASSET_FILES else os.path.join(folder, name)


def missing_message():
    """One line saying which studio files are missing and how to get them, or None."""
    missing = missing_assets()
    if not missing:
        return None
    return f"the studio's onnxruntime-web files are missing ({', '.join(missing)}): {HINT}"
