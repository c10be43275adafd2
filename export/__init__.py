"""Export trained generators for TensorFlow Serving and ONNX runtimes.

Installed as `keras_genart.export`. One layout for both runtimes, TF Serving's:
`DIR/NAME/VERSION/` holds `saved_model.pb` + `variables/` (the SavedModel),
`model.onnx` and `metadata.json`.
"""

from keras_genart.export.exporter import ExportError, export_model, next_version
from keras_genart.export.metadata import METADATA_FILE, read_metadata

__all__ = ["ExportError", "METADATA_FILE", "export_model", "next_version", "read_metadata"]
