"""The presets: what "auto" and unset settings mean per model type, and named runs."""

import os

# ---------------------------------------------------------------------------------------
# The presets: what "auto" and unset settings mean per model type (keras-hub's presets
# are the model). Measured with benchmarks/quality.py (benchmarks/README.md): GANs draw
# with a moving average of the generator; DCGAN's generator steps from the
# discriminator's forward pass and its discriminator stops at 8x8 maps; WGAN-GP keeps
# its five critic steps, the DCGAN paper's 4x4 maps and a layer-normalized critic.
PRESETS = {
    "dcgan": dict(ema=0.999, shared_fakes=True, d_final_size=8, minibatch_std=True,
                  lr=2e-4, beta1=0.5, beta2=0.999),
    "wgan-gp": dict(ema=0.999, shared_fakes=False, d_final_size=4, minibatch_std=False,
                    d_normalization="layer", lr=1e-4, beta1=0.0, beta2=0.9),
    "vae": dict(ema=None, shared_fakes=False, d_final_size=None, minibatch_std=None,
                d_normalization=None, lr=1e-3, beta1=0.9, beta2=0.999),
}
# Settings of the adversarial step, which the VAE does not have.
GAN_ONLY = ("ema", "shared_fakes", "d_final_size", "r1")


def _preset_help(key, shown=lambda v: "none" if v is None else str(v).lower()):
    """The preset's values of `key` per model type, for a flag's help (a model type
    whose preset leaves the setting unused is left out; the EMA's none is "off")."""
    return ", ".join(f"{model} {shown(values[key])}" for model, values in PRESETS.items()
                     if key in values and (values[key] is not None or key == "ema"))


# ---------------------------------------------------------------------------------------
# Named presets of whole runs.

# The demo: `genart train dcgan`'s defaults on the five built-in styles, one row of the
# grid per style, on 2 CPU cores in about 6 minutes (benchmarks/README.md). It counts
# steps, not minutes, so that its pictures are the same on every machine.
RUN_PRESETS = {
    "demo": dict(model="dcgan", data="builtin:abstract:4096", image_size=32, batch_size=64,
                 epochs=8, steps_per_epoch=250, run_dir=os.path.join("runs", "demo")),
}
