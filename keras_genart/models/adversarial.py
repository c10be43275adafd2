"""The adversarial model: a GAN whose training step is assembled from parts."""

import functools

import keras
import numpy as np
from keras import ops

from keras_genart import latents, losses
from keras_genart.models import checks
from keras_genart.models.ema import GeneratorEMA, copy_of
from keras_genart.models.generative import PACKAGE, GenerativeModel
from keras_genart.networks.layers import place_in_class


@keras.saving.register_keras_serializable(package=PACKAGE)
class AdversarialModel(GeneratorEMA, GenerativeModel):
    """A GAN whose training step is assembled from parts.

    One step: `d_steps` discriminator updates (each with fresh latents, on
    the step's real batch), then one generator update, then the moving
    average of the generator. The parts:

    - the adversarial loss (`keras_genart.losses`; it sees the real and the
      fake logits);
    - the discriminator's regularisers (`keras_genart.losses.GradientPenalty`
      and `R1Penalty`): the gradient penalty at interpolates (WGAN-GP,
      Gulrajani et al. 2017) and R1, the squared gradient norm at the real
      pictures (Mescheder et al. 2018, https://arxiv.org/abs/1801.04406),
      optionally lazy: computed every `r1_interval` discriminator updates
      and weighted by the interval (Karras et al. 2020, StyleGAN2);
    - augmentation: real pictures get every augmentation of the model,
      generated ones the differentiable ones (DiffAugment), in both steps;
    - packing (PacGAN);
    - an exponential moving average of the generator's weights (Karras et
      al. 2018; Yazici et al. 2019, https://arxiv.org/abs/1806.04498;
      `keras_genart.models.ema`): `generate`, image grids, evaluation and
      export use it; the raw generator is the one trained.

    `DCGAN` and `WGANGP` are presets of it; a new recipe is a preset too.

    A conditional GAN (`class_names`): the generator takes `[z, label]`, the
    discriminator `[images, label]` (`networks.build_generator` and
    `build_discriminator` with `num_classes`: conditional batch
    normalization and a projection discriminator); real pictures are judged
    with their labels, and fakes are made and judged with the labels of the
    real batch, so classes come as often as in the data.

    Latent-coded classes (`latent_class_names`): the model learns the data's
    classes as a conditional GAN does, but its generator takes `z` only and
    reads the class from it (`networks.layers.LatentClass`: the angle of
    `z`'s first two values, one arc per class, as wide as the class's share
    of the data). Training moves each fake's latent into the arc of the real
    batch's label (`place_in_class`) and the projection discriminator judges
    it with that label; `generate` without labels draws the classes in the
    data's shares, with `labels` it moves the latents into their arcs. It is
    unconditional to everything outside (`class_names` is None, export and
    serving take `z` only), which is the point: the labels steer training
    towards every class without changing the exported contract.

    Args:
        generator: `keras.Model`. Latents `(None, latent_dim)` -> images in
            [-1, 1] (or `[z, label]` -> images for a conditional GAN).
        discriminator: `keras.Model`. Images (or `[images, label]`) -> one
            logit (score) per image.
        latent_dim: int. Defaults to the generator's input size.
        augmentation: list of str. See `GenerativeModel`. Defaults to None.
        seed: int. Defaults to None.
        packing: int. The discriminator judges `packing` samples at once,
            concatenated along the last axis (PacGAN, Lin et al. 2018,
            https://arxiv.org/abs/1712.04086): it then sees a lack of
            variety, which fights mode collapse. Its input has `packing`
            times the generator's channels; batches must be a multiple.
            Defaults to 1 (no packing).
        loss: str. An adversarial loss of `keras_genart.losses`. The
            `"wasserstein"` loss needs a regulariser (`gp_weight` or
            `r1_weight`). Defaults to `"non_saturating"`.
        d_steps: int. Discriminator updates per generator update. Defaults
            to 1.
        gp_weight: float. Weight of the gradient penalty; 0 for none. Not
            with packing, batch normalization or a minibatch
            standard-deviation layer in the discriminator (the penalty is per
            sample). Defaults to 0.
        r1_weight: float. gamma of R1 (the penalty is `gamma / 2` times the
            squared gradient norm); 0 for none. R1 runs the discriminator in
            inference mode (no batch-norm statistics or spectral-norm power
            iteration updated). Defaults to 0.
        r1_interval: int. Discriminator updates between R1 computations
            (lazy regularisation). Defaults to 16.
        ema: float. Decay of the generator's moving average, in (0, 1), or
            None for none. It ramps up as `min(ema, (1 + t) / (10 + t))`
            after `t` generator updates, so that a short run is not
            dominated by the random initial weights. Its batch-norm
            statistics are recomputed from its own pictures before it makes
            any (`refresh_sampling_statistics`). Defaults to None.
        ema_generator: `keras.Model`. The moving average itself (given when
            a saved model is loaded). Defaults to a copy of `generator`.
        shared_fakes: bool. The generator's update uses the fakes and the
            forward pass of the last discriminator update (both networks
            step from the same pass, as TensorFlow's DCGAN tutorial does):
            one generator and one discriminator pass fewer per step. False:
            the generator's update draws new latents and meets the updated
            discriminator (keras-io's DCGAN). Defaults to False.
        class_names: list of str. The classes of a conditional GAN (its
            networks take labels). Defaults to None (unconditional).
        latent_class_names: list of str. The classes of a GAN with
            latent-coded classes: the generator takes `z` and has a
            `LatentClass` layer of as many classes
            (`networks.build_generator(latent_class_shares=...)`), the
            discriminator takes `[images, label]`. Not with `class_names`
            or packing. Defaults to None.
    """

    model_type = "gan"  # the presets have their own
    optimizer_names = ("g_optimizer", "d_optimizer")
    _submodels = ("generator", "discriminator", "ema_generator")
    default_learning_rate = 2e-4
    default_betas = (0.5, 0.999)

    def __init__(self, generator, discriminator, latent_dim=None, augmentation=None,
                 seed=None, packing=1, loss="non_saturating", d_steps=1, gp_weight=0.0,
                 r1_weight=0.0, r1_interval=16, ema=None, ema_generator=None,
                 shared_fakes=False, class_names=None, latent_class_names=None, **kwargs):
        latent_dim = checks.latent_dim_of(generator, latent_dim)
        packing = int(packing)
        latent_class_names = checks.check_gan_inputs(generator, discriminator, class_names,
                                                     latent_class_names, packing)
        checks.check_packing(generator, discriminator, packing, class_names is not None)
        gp_weight, r1_weight = float(gp_weight), float(r1_weight)
        checks.check_discriminator_step(loss, gp_weight, r1_weight, d_steps, r1_interval,
                                        discriminator, packing)
        checks.check_ema(ema)
        super().__init__(latent_dim, augmentation=augmentation, seed=seed,
                         class_names=class_names, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.packing = packing
        self.loss_kind = loss
        self.d_steps = int(d_steps)
        self.gp_weight = gp_weight
        self.r1_weight = r1_weight
        self.r1_interval = int(r1_interval)
        self.ema = None if ema is None else float(ema)
        self.shared_fakes = bool(shared_fakes)
        self.latent_class_names = latent_class_names
        self.ema_generator = None
        if self.ema is not None:
            self.ema_generator = ema_generator or copy_of(generator)
            self.ema_generator.trainable = False
        self._gradient_penalty = losses.GradientPenalty(gp_weight)
        self._r1 = losses.R1Penalty(r1_weight, self.r1_interval, group=packing)
        self._d_logs = ["d_loss"]
        if gp_weight:
            self._d_logs.append("gradient_penalty")
        if r1_weight:
            self._d_logs.append("r1_penalty")
        if loss == "wasserstein":
            self._d_logs.append("wasserstein_distance")
        self._add_trackers("d_loss", "g_loss", *self._d_logs[1:])
        self.built = True

    @property
    def trains_on_labels(self):
        return bool(self.num_classes or self.latent_class_names)

    @property
    def label_names(self):
        return self.class_names or self.latent_class_names

    @property
    def latent_class_shares(self):
        """The classes' shares of a model with latent-coded classes (its generator's
        `LatentClass` layer); None for other models."""
        layer = checks.latent_class_layer(self.generator)
        return None if layer is None else list(layer.shares)

    def generate_from_latents(self, z, batch_size=256, labels=None, class_weights=None):
        """See `GenerativeModel.generate_from_latents`. With latent-coded classes,
        `labels` (one class, a name or an index, or one per picture) move the latents into
        their classes' arcs (`keras_genart.latents.latents_in_classes`)."""
        if self.latent_class_names and labels is not None:
            if class_weights is not None:
                raise ValueError("class weights are for conditional models; this one codes "
                                 "its classes in the latents")
            z = np.asarray(z, np.float32)
            labels = latents.resolve_labels(labels, len(z), self.latent_class_names)
            z, labels = latents.latents_in_classes(z, labels, self.latent_class_shares), None
        return super().generate_from_latents(z, batch_size=batch_size, labels=labels,
                                             class_weights=class_weights)


    def _judge(self, samples, labels=None, training=True):
        """Discriminator outputs for samples (and their labels, if conditional), packed
        `packing` at a time (PacGAN)."""
        if self.packing > 1:
            shape = tuple(samples.shape[1:])
            grouped = ops.reshape(samples, (-1, self.packing) + shape)
            samples = ops.concatenate([grouped[:, i] for i in range(self.packing)], axis=-1)
        if labels is not None:
            return self.discriminator([samples, labels], training=training)
        return self.discriminator(samples, training=training)

    def _fake(self, batch, labels=None):
        z = self._normal((batch, self.latent_dim))
        if self.latent_class_names:  # the latents of the real batch's classes
            return self.generator(place_in_class(z, labels, self.latent_class_shares),
                                  training=True)
        return self.generator(z if labels is None else [z, labels], training=True)

    def compute_step(self, data):
        real = self._real_images(data)
        labels = self._real_labels(data)
        batch = ops.shape(real)[0]
        # The trackers report the mean over this step's discriminator updates.
        totals = None
        for _ in range(self.d_steps - 1 if self.shared_fakes else self.d_steps):
            _, values = self._minimize("d_optimizer",
                                       lambda: self._d_loss(real, batch, labels)[:2])
            totals = values if totals is None else [t + v for t, v in zip(totals, values)]

        if self.shared_fakes:
            def both_losses():
                d_loss, d_values, fake_logits = self._d_loss(real, batch, labels)
                per_sample = losses.generator_loss(self.loss_kind, fake_logits)
                return (d_loss, self._global_mean(per_sample)), (d_values, ops.mean(per_sample))

            _, (values, g_value) = self._minimize_jointly(
                ("d_optimizer", "g_optimizer"), both_losses)
            totals = values if totals is None else [t + v for t, v in zip(totals, values)]
        else:
            def g_loss():
                per_sample = losses.generator_loss(
                    self.loss_kind,
                    self._judge(self._augment(self._fake(batch, labels)), labels))
                return self._global_mean(per_sample), ops.mean(per_sample)

            _, g_value = self._minimize("g_optimizer", g_loss)
        d_logs = {name: total / self.d_steps for name, total in zip(self._d_logs, totals)}
        self._update_ema()
        return self._update_trackers(g_loss=g_value, **d_logs)

    def _d_loss(self, real, batch, labels=None):
        """One discriminator update's `(loss, [d_loss, penalties..., wasserstein_distance],
        fake_logits)`."""
        fake = self._augment(self._fake(batch, labels))
        alpha = self._uniform((batch,)) if self.gp_weight else None
        real_logits = self._judge(real, labels)
        fake_logits = self._judge(fake, labels)
        adversarial = losses.discriminator_loss(self.loss_kind, real_logits, fake_logits)
        per_sample, extra = adversarial, []
        judge = functools.partial(self._judge, labels=labels)
        if self.gp_weight:
            penalty = self._gradient_penalty(judge, real, fake, alpha, self._loss_scale())
            per_sample = per_sample + self._gradient_penalty.weight * penalty
            extra.append(ops.mean(penalty))
        if self.r1_weight:
            penalty = self._r1(judge, real, self.d_optimizer.iterations, xla=self.jit_compile,
                               loss_scale=self._loss_scale())
            per_sample = per_sample + self._r1.weight * penalty
            extra.append(ops.mean(penalty))
        if self.loss_kind == "wasserstein":
            extra.append(-ops.mean(adversarial))
        return self._global_mean(per_sample), [ops.mean(per_sample), *extra], fake_logits

    def penalty(self, real, fake, alpha, labels=None):
        """Per-sample gradient penalty at the interpolates (before gp_weight):
        `keras_genart.losses.GradientPenalty`, loss-scaled as in training."""
        return self._gradient_penalty(functools.partial(self._judge, labels=labels),
                                      real, fake, alpha, self._loss_scale())

    def r1_penalty(self, real, labels=None):
        """Per judged sample: the squared norm of the discriminator's gradient at `real`
        (`keras_genart.losses.R1Penalty`, loss-scaled as in training).

        Before `r1_weight / 2`; a packed judgement's gradient covers all its pictures.
        """
        return self._r1.every_update(functools.partial(self._judge, labels=labels), real,
                                     self._loss_scale())

    def _loss_scale(self):
        """The discriminator optimizer's loss scale under float16 (the penalties' input
        gradients are scaled by it as well); None otherwise, or before `compile`."""
        optimizer = getattr(self, "d_optimizer", None)
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return optimizer.dynamic_scale
        return None

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def _optimizer_variables(self, name):
        network = self.generator if name == "g_optimizer" else self.discriminator
        return network.trainable_variables

    def get_config(self):
        config = {**super().get_config(), "packing": self.packing, "loss": self.loss_kind,
                  "d_steps": self.d_steps, "gp_weight": self.gp_weight,
                  "r1_weight": self.r1_weight, "r1_interval": self.r1_interval,
                  "ema": self.ema, "shared_fakes": self.shared_fakes}
        if self.latent_class_names:
            config["latent_class_names"] = self.latent_class_names
        return self._serialize_submodels(config)
