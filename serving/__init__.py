"""Serve exported generators without TensorFlow: onnxruntime + a TF-Serving-style REST API.

Installed as `keras_genart.serving`. Imports NumPy, onnxruntime and Pillow (and
FastAPI/uvicorn for the server) but never TensorFlow or Keras, so it runs from
a small install:

    pip install --no-deps keras_genart && pip install numpy pillow onnxruntime fastapi uvicorn
"""

from keras_genart.serving.runtime import Generator, find_versions, slerp

__all__ = ["Generator", "find_versions", "slerp"]
