"""metadata.json and the name and version rules: they live in `keras_genart.contract`,
which the TensorFlow-free serving side shares; here for the exporter's older imports."""

from keras_genart.contract import (METADATA_FILE, NAME_PATTERN, VERSION_PATTERN,
                                   artifact_hashes, read_metadata, sha256_file)

__all__ = ["METADATA_FILE", "NAME_PATTERN", "VERSION_PATTERN", "artifact_hashes",
           "read_metadata", "sha256_file"]
