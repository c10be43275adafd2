"""The contract of an exported model that export, serving, the CLI and the metrics share:
`metadata.json` (what a runtime needs to know of a version folder) and the rules for
model names and version numbers. (The latent recipe is its other half: `latents`.)

JSON and hashlib only, so that the TensorFlow-free serving side reads it without
importing the exporter.
"""

import hashlib
import json
import os
import re

METADATA_FILE = "metadata.json"

# A version folder's name, a version in a URL: ASCII digits only ("²".isdigit()
# is true in Python, but int("²") fails), short enough for int().
VERSION_PATTERN = re.compile(r"[0-9]{1,18}")
# A model's name: a folder under the base path, a name in a URL. `\Z`, not `$`:
# `$` also matches before a trailing newline, so "dcgan\n" would pass.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")


def sha256_file(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def artifact_hashes(version_dir):
    """sha256 of every file under a version folder but metadata.json itself."""
    hashes = {}
    for root, _, files in os.walk(version_dir):
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, version_dir).replace(os.sep, "/")
            if rel != METADATA_FILE:
                hashes[rel] = sha256_file(path)
    return dict(sorted(hashes.items()))


def read_metadata(version_dir):
    """Reads and checks `metadata.json` of a version folder."""
    path = os.path.join(version_dir, METADATA_FILE)
    with open(path) as f:
        metadata = json.load(f)
    for key in ("model_type", "latent_dim", "image_size", "channels"):
        if key not in metadata:
            raise ValueError(f"{path} lacks '{key}'")
    return metadata
