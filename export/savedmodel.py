"""The TF Serving SavedModel, with named signatures built by Keras' ExportArchive."""

import keras
import numpy as np
import tensorflow as tf


def _to_unit(images):
    return tf.clip_by_value((images + 1.0) * 0.5, 0.0, 1.0)


def export_savedmodel(model, path):
    """Writes a SavedModel with keras_genart's signatures into `path`.

    Signatures:
        serving_default: `z` float32 `[None, latent_dim]` (and, for a
            conditional model, `label` int64 `[None]`) -> `images` float32
            `[None, H, W, C]` in [0, 1].
        render: the same inputs -> `images_bytes`, one PNG per latent (TF
            Serving's REST API sends `*_bytes` outputs base64-encoded).
        encode (VAE): `images` float32 `[None, H, W, C]` in [0, 1] (and, for
            a conditional VAE, `label` int64 `[None]`) -> `mean`, `log_var`.
        reconstruct (VAE): the same inputs -> `images`.

    Returns:
        list of signature names.
    """
    model.refresh_sampling_statistics()
    generator = model.sampling_generator
    inputs = generator_input_specs(model)

    archive = keras.export.ExportArchive()
    archive.track(generator)

    def images(*args):
        return {"images": _to_unit(run_generator(model, *args))}

    def render(*args):
        pixels = tf.cast(tf.round(_to_unit(run_generator(model, *args)) * 255.0), tf.uint8)
        png = tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)
        return {"images_bytes": png}

    archive.add_endpoint("serving_default", images, input_signature=inputs)
    archive.add_endpoint("render", render, input_signature=inputs)
    names = ["serving_default", "render"]
    if model.model_type == "vae":
        archive.track(model.encoder)

        def encode(*args):
            mean, log_var = run_encoder(model, *args)
            return {"mean": mean, "log_var": log_var}

        def reconstruct(images, *label):
            mean, _ = run_encoder(model, images, *label)
            return {"images": _to_unit(run_generator(model, mean, *label))}

        archive.add_endpoint("encode", encode, input_signature=encoder_input_specs(model))
        archive.add_endpoint("reconstruct", reconstruct,
                             input_signature=encoder_input_specs(model))
        names += ["encode", "reconstruct"]
    logger = tf.get_logger()  # "INFO:tensorflow:Assets written to: ..." is noise here
    level = logger.level
    logger.setLevel("WARNING")
    try:
        archive.write_out(path, verbose=False)
    finally:
        logger.setLevel(level)
    return names


def generator_input_specs(model):
    """The exported generator's inputs: `z`, and `label` (int64) for a conditional model."""
    specs = [tf.TensorSpec([None, model.latent_dim], tf.float32, name="z")]
    if model.num_classes:
        specs.append(tf.TensorSpec([None], tf.int64, name="label"))
    return specs


def encoder_input_specs(model):
    """A VAE's exported encoder inputs: `images` in [0, 1], and `label` (int64) if conditional."""
    size, channels = model.image_size, model.channels
    specs = [tf.TensorSpec([None, size, size, channels], tf.float32, name="images")]
    if model.num_classes:
        specs.append(tf.TensorSpec([None], tf.int64, name="label"))
    return specs


def run_encoder(model, images, label=None):
    """A VAE's `(mean, log_var)` of exported inputs (images in [0, 1]; `label` int64)."""
    return model.encode(images * 2.0 - 1.0,
                        None if label is None else tf.cast(label, tf.int32), training=False)


def run_generator(model, z, label=None):
    """The sampling generator in [-1, 1] on exported inputs (`label` int64 -> int32)."""
    if label is None:
        return model.sampling_generator(z, training=False)
    return model.sampling_generator([z, tf.cast(label, tf.int32)], training=False)


def check_savedmodel(path, model, z, reference, labels=None):
    """Every signature of a written SavedModel against Keras, as TF Serving calls it.

    Returns `{check: largest absolute difference}`: `savedmodel`
    (serving_default's images), `savedmodel:render` (its PNGs decoded, in
    [0, 1]) and, for a VAE, `savedmodel:encode` (mean and log_var) and
    `savedmodel:reconstruct`, on the generated pictures `reference` of `z`.
    """
    signatures = tf.saved_model.load(path).signatures
    inputs = {"z": tf.constant(np.asarray(z, np.float32))}
    if labels is not None:
        inputs["label"] = tf.constant(np.asarray(labels, np.int64))

    def difference(a, b):
        return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))

    checks = {"savedmodel": difference(signatures["serving_default"](**inputs)["images"],
                                       reference)}
    pngs = signatures["render"](**inputs)["images_bytes"].numpy()
    decoded = np.stack([tf.io.decode_png(png).numpy() for png in pngs]) / 255.0
    checks["savedmodel:render"] = difference(decoded, reference)
    if "encode" in signatures:
        # The generated pictures, encoded as the classes they were made with.
        inputs = {"images": tf.constant(reference)}
        if labels is not None:
            inputs["label"] = tf.constant(np.asarray(labels, np.int64))
        mean, log_var = model.encode_pictures(reference, labels)
        encoded = signatures["encode"](**inputs)
        checks["savedmodel:encode"] = max(difference(encoded["mean"], mean),
                                          difference(encoded["log_var"], log_var))
        checks["savedmodel:reconstruct"] = difference(
            signatures["reconstruct"](**inputs)["images"], model.reconstruct(reference, labels))
    return checks
