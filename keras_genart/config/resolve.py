"""Resolution: every "auto" and unset setting of a config made concrete, once."""

import dataclasses
import os

from keras_genart.config.kinds import AUTO
from keras_genart.config.presets import PRESETS

# ---------------------------------------------------------------------------------------
# Resolution: every "auto" and unset setting made concrete.

def resolve_model(model, classes=None, grayscale=False):
    """The `ModelConfig` with every `"auto"` decided.

    Args:
        model: `ModelConfig`.
        classes: list of str. The data's class names (none: unlabelled).
        grayscale: bool. Whether every training picture is gray.
    """
    preset = PRESETS[model.type]
    values = dataclasses.asdict(model)
    for key in ("ema", "shared_fakes", "d_final_size", "minibatch_std"):
        if values[key] == AUTO:
            values[key] = preset[key]
    if values["latent_classes"] == AUTO:
        values["latent_classes"] = (model.type == "dcgan" and not model.conditional
                                    and model.packing == 1 and model.latent_dim >= 2
                                    and len(classes or []) >= 2)
    learns_classes = model.conditional or values["latent_classes"]
    if values["upsampling"] == AUTO:
        values["upsampling"] = ("resize" if model.type == "dcgan" and learns_classes
                                else "transpose")
    if values["d_normalization"] == AUTO:
        values["d_normalization"] = preset.get(
            "d_normalization", "spectral" if learns_classes else "none")
    if values["colors"] == AUTO:
        values["colors"] = "gray" if grayscale else "rgb"
    return dataclasses.replace(model, **values)


def resolve(config, classes=None, grayscale=False, backend=None):
    """The `TrainConfig` with every `"auto"` and unset setting decided.

    Args:
        config: `TrainConfig`.
        classes: list of str. The data's class names (none: unlabelled).
        grayscale: bool. Whether every training picture is gray.
        backend: str. The Keras backend. Defaults to `$KERAS_BACKEND`, else
            tensorflow.
    """
    model = resolve_model(config.model, classes, grayscale)
    fit = dataclasses.asdict(config.fit)
    preset = PRESETS[model.type]
    for key in ("lr", "beta1", "beta2"):
        if fit[key] is None:
            fit[key] = preset[key]
    if fit["jit_compile"] == AUTO:
        backend = backend or os.environ.get("KERAS_BACKEND", "tensorflow")
        # TensorFlow: no XLA under tf.distribute; otherwise XLA on GPUs, and a long run on
        # a CPU times both and keeps the faster (backend.resolve_jit_compile).
        fit["jit_compile"] = (True if backend == "jax" else False if fit["devices"] > 1
                              else "fastest")
    return dataclasses.replace(config, model=model, fit=dataclasses.replace(config.fit, **fit),
                               data=dataclasses.replace(config.data))


def compile_jit(fit):
    """The `jit_compile` to give `compile` for a resolved `FitConfig`."""
    return AUTO if fit.jit_compile == "fastest" else fit.jit_compile


def optimizer_settings(fit):
    """Adam's `learning_rate`, `beta_1`, `beta_2` of a resolved `FitConfig`."""
    return {"learning_rate": fit.lr, "beta_1": fit.beta1, "beta_2": fit.beta2}
