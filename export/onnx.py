"""ONNX export through tf2onnx's `from_function` (the path Keras itself uses)."""

import warnings

import numpy as np
import tensorflow as tf


def export_onnx(model, path, opset=17):
    """Writes the generator as ONNX: input `z` `[batch, latent_dim]` (and
    `label` int64 `[batch]` for a conditional model), output `images`
    `[batch, H, W, C]` in [0, 1], dynamic batch.

    `tf2onnx.convert.from_keras` fails on Keras 3 models, so the generator is
    wrapped in a `tf.function` with a named input signature. Random ops do not
    convert: the latent is always an input.
    """
    import onnx
    import tf2onnx
    from keras.src.export.tf2onnx_lib import patch_tf2onnx  # NumPy 2 fixes Keras applies

    from keras_genart.export.savedmodel import generator_input_specs, run_generator

    spec = generator_input_specs(model)

    @tf.function(input_signature=spec)
    def images(*args):
        out = tf.clip_by_value((run_generator(model, *args) + 1.0) * 0.5, 0.0, 1.0)
        return tf.identity(out, name="images")

    with warnings.catch_warnings():  # Keras' patch probes np.object
        warnings.simplefilter("ignore", FutureWarning)
        patch_tf2onnx()
    proto, _ = tf2onnx.convert.from_function(images, input_signature=spec, opset=opset)
    _rename_output(proto, "images")
    for tensor in (*proto.graph.input, *proto.graph.output):
        dim = tensor.type.tensor_type.shape.dim[0]
        dim.dim_param = "batch"
    proto.doc_string = ("keras_genart generator: z" + (", label" if len(spec) > 1 else "")
                        + " -> images in [0, 1]")
    onnx.checker.check_model(proto)
    onnx.save(proto, path)


def _rename_output(proto, name):
    old = proto.graph.output[0].name
    if old == name:
        return
    for node in proto.graph.node:
        node.output[:] = [name if o == old else o for o in node.output]
        node.input[:] = [name if i == old else i for i in node.input]
    proto.graph.output[0].name = name


def run_onnx(path, z, labels=None):
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = {"z": np.asarray(z, np.float32)}
    if labels is not None:
        feed["label"] = np.asarray(labels, np.int64)
    return session.run(["images"], feed)[0]
