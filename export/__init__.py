"""Export trained generators for TensorFlow Serving and ONNX runtimes.

Installed as `keras_genart.export`. One layout for both runtimes, TF Serving's:
`DIR/NAME/VERSION/` holds `saved_model.pb` + `variables/` (the SavedModel),
`model.onnx` and `metadata.json`.
"""

from keras_genart._lazy import lazy_getattr

# Lazy: importing the package must not load the exporter (and through it the
# TensorFlow-facing code).
_NAMES = {"ExportError": "keras_genart.export.exporter",
          "export_model": "keras_genart.export.exporter",
          "next_version": "keras_genart.export.version_folders",
          "METADATA_FILE": "keras_genart.contract",
          "read_metadata": "keras_genart.contract"}
__all__ = sorted(_NAMES)
__getattr__ = lazy_getattr(__name__, _NAMES, globals())
