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
    from keras_genart.export.savedmodel import generator_input_specs, run_generator

    model.refresh_sampling_statistics()
    spec = generator_input_specs(model)

    @tf.function(input_signature=spec)
    def images(*args):
        return tf.clip_by_value((run_generator(model, *args) + 1.0) * 0.5, 0.0, 1.0)

    _convert(images, spec, ["images"], path, opset,
             "keras_genart generator: z" + (", label" if len(spec) > 1 else "")
             + " -> images in [0, 1]")


def export_encoder_onnx(model, path, opset=17):
    """Writes a VAE's encoder as ONNX (`encoder.onnx`): input `images`
    `[batch, H, W, C]` in [0, 1] (and `label` int64 `[batch]` for a
    conditional VAE), outputs `mean` and `log_var` `[batch, latent_dim]`:
    with `model.onnx`, what `vary` and `reconstruct` need without TensorFlow."""
    from keras_genart.export.savedmodel import encoder_input_specs, run_encoder

    spec = encoder_input_specs(model)

    @tf.function(input_signature=spec)
    def encode(*args):
        mean, log_var = run_encoder(model, *args)
        return tf.identity(mean), tf.identity(log_var)

    _convert(encode, spec, ["mean", "log_var"], path, opset,
             "keras_genart VAE encoder: images in [0, 1]" + (", label" if len(spec) > 1 else "")
             + " -> mean, log_var")


def _convert(function, spec, output_names, path, opset, doc):
    """Converts a `tf.function` with tf2onnx, names its outputs, makes the batch dynamic."""
    import onnx
    import tf2onnx
    from keras.src.export.tf2onnx_lib import patch_tf2onnx  # NumPy 2 fixes Keras applies

    with warnings.catch_warnings():  # Keras' patch probes np.object
        warnings.simplefilter("ignore", FutureWarning)
        patch_tf2onnx()
    proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=opset)
    _rename_outputs(proto, output_names)
    for tensor in (*proto.graph.input, *proto.graph.output):
        dim = tensor.type.tensor_type.shape.dim[0]
        dim.dim_param = "batch"
    proto.doc_string = doc
    onnx.checker.check_model(proto)
    onnx.save(proto, path)


def _rename_outputs(proto, names):
    """Gives the graph's outputs, in order, the names asked for."""
    if len(proto.graph.output) != len(names):
        raise ValueError(f"the converted graph has {len(proto.graph.output)} outputs, "
                         f"expected {len(names)} ({', '.join(names)})")
    for output, name in zip(proto.graph.output, names):
        old = output.name
        if old == name:
            continue
        for node in proto.graph.node:
            node.output[:] = [name if o == old else o for o in node.output]
            node.input[:] = [name if i == old else i for i in node.input]
        output.name = name


def _session(path):
    import onnxruntime as ort

    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def run_onnx(path, z, labels=None):
    feed = {"z": np.asarray(z, np.float32)}
    if labels is not None:
        feed["label"] = np.asarray(labels, np.int64)
    return _session(path).run(["images"], feed)[0]


def run_encoder_onnx(path, images, labels=None):
    """`(mean, log_var)` of `encoder.onnx` for pictures in [0, 1]."""
    feed = {"images": np.asarray(images, np.float32)}
    if labels is not None:
        feed["label"] = np.asarray(labels, np.int64)
    return tuple(_session(path).run(["mean", "log_var"], feed))
