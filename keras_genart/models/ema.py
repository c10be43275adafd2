"""The generator's exponential moving average (EMA) and its batch-norm statistics.

Karras et al. 2018; Yazici et al. 2019 (https://arxiv.org/abs/1806.04498):
a GAN's pictures come from a moving average of its generator's weights,
which is smoother than the generator being trained. `GeneratorEMA` gives an
adversarial model the average's update and its `refresh_sampling_statistics`.
"""

import keras
import numpy as np
from keras import ops

from keras_genart import latents

# Latents per forward pass when statistics are recomputed: bounded memory.
STATISTICS_CHUNK = 128


def copy_of(network):
    """A functional network with the same architecture and a copy of its weights."""
    copy = keras.models.clone_model(network)
    copy.set_weights(network.get_weights())
    return copy


class GeneratorEMA:
    """The moving average of a model's generator, as a mixin of `AdversarialModel`.

    The model (a `GenerativeModel`, for `latent_dim` and `resolve_labels`)
    sets `ema` (the decay, or None), `ema_generator` (the average, or None),
    `generator` and `g_optimizer`; the mixin makes the average the
    `sampling_generator`, updates it after each generator update
    (`_update_ema`) and gives it batch-norm statistics of its own
    (`refresh_sampling_statistics`).
    """

    # Latents whose pictures set the moving average's batch-norm statistics.
    statistics_samples = 1024
    statistics_seed = 2_718

    @property
    def sampling_generator(self):
        return self.ema_generator if self.ema_generator is not None else self.generator

    def _update_ema(self):
        """One step of the average: `decay = min(ema, (1 + t) / (10 + t))` after `t` updates.

        The ramp keeps a short run from being dominated by the random initial
        weights. Batch-norm statistics are copied as they are (see
        `refresh_sampling_statistics`).
        """
        if self.ema_generator is None:
            return
        updates = ops.cast(self.g_optimizer.iterations, "float32")
        decay = ops.minimum(self.ema, (1.0 + updates) / (10.0 + updates))
        for average, variable in zip(self.ema_generator.weights, self.generator.weights):
            if variable.trainable:
                value = ops.cast(variable, average.dtype)
                average.assign(value + ops.cast(decay, average.dtype) * (average - value))
            else:  # batch-norm statistics: the current ones
                average.assign(variable)

    def refresh_sampling_statistics(self):
        """Gives the moving-average generator the batch-norm statistics of its own pictures.

        Training copies the raw generator's running statistics into the
        moving average (`_update_ema`), but the averaged weights are not the
        raw ones: their activations have other means and variances, and
        normalizing them by the raw generator's shifts every picture's
        colour (on 200 pictures with DiffAugment: sepia where the raw
        generator drew red and blue) and lowers the scores. As BigGAN's
        "standing statistics", this recomputes every `BatchNormalization`
        layer's mean and variance, in order, from `statistics_samples`
        fixed latents (classes in turn for a conditional model) run through
        the moving average in inference mode, so that the same weights give
        the same pictures wherever they are loaded. It runs when the
        weights or statistics changed since the last time (a checksum), so
        repeated `generate` calls pay for it once.

        Returns:
            bool: whether statistics were recomputed (False without a moving
            average, without batch normalization, or when up to date).
        """
        generator = self.ema_generator
        if generator is None:
            return False
        norms = [layer for layer in generator.layers
                 if isinstance(layer, keras.layers.BatchNormalization)]
        if not norms:
            return False
        if _statistics_key(generator) == getattr(self, "_fresh_statistics", None):
            return False
        z = latents.sample_latents(self.statistics_samples, self.latent_dim,
                                   self.statistics_seed)
        labels = self.resolve_labels(None, len(z))
        for layer, probe in zip(norms, self._probes(generator, norms)):
            mean, variance = _channel_moments(probe, z, labels, layer.axis)
            layer.moving_mean.assign(mean.astype(layer.moving_mean.dtype))
            layer.moving_variance.assign(np.maximum(variance, 0.0)
                                         .astype(layer.moving_variance.dtype))
        # Not attributes Keras tracks: no part of the model or its file.
        object.__setattr__(self, "_fresh_statistics", _statistics_key(generator))
        return True

    def _probes(self, generator, norms):
        """One network per batch-norm layer, from the generator's input to the layer's
        input (a layer's pass stops there); made once per generator."""
        probes = getattr(self, "_statistics_probes", None)
        if probes is None or probes[0] is not generator:
            probes = (generator, [keras.Model(generator.input, layer.input) for layer in norms])
            object.__setattr__(self, "_statistics_probes", probes)
        return probes[1]


def _channel_moments(probe, z, labels, axis):
    """float64 `(mean, variance)` per channel of `probe`'s outputs over all latents `z`
    (and labels), `STATISTICS_CHUNK` at a time, in inference mode."""
    axis = axis if isinstance(axis, int) else axis[0]
    moments = []  # per chunk: (count, mean, variance) per channel
    for start in range(0, len(z), STATISTICS_CHUNK):
        inputs = z[start:start + STATISTICS_CHUNK]
        if labels is not None:
            inputs = [inputs, labels[start:start + STATISTICS_CHUNK]]
        x = ops.cast(probe(inputs, training=False), "float32")
        axes = [a for a in range(len(x.shape)) if a != axis % len(x.shape)]
        count = int(np.prod([x.shape[a] for a in axes]))
        moments.append((count, ops.convert_to_numpy(ops.mean(x, axis=axes)),
                        ops.convert_to_numpy(ops.var(x, axis=axes))))
    total = sum(count for count, _, _ in moments)
    mean = sum(count * m.astype(np.float64) for count, m, _ in moments) / total
    variance = sum(count * (v.astype(np.float64) + m.astype(np.float64) ** 2)
                   for count, m, v in moments) / total - mean ** 2
    return mean, variance


def _statistics_key(generator):
    """A checksum of the weights and statistics `refresh_sampling_statistics` reads."""
    return tuple(float(np.sum(ops.convert_to_numpy(v), dtype=np.float64))
                 for v in generator.weights)
