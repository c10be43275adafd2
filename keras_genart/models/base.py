"""What every generative model shares: latents, trackers, generate, compile.

A new model subclasses `GenerativeModel` (one optimizer, like the VAE) or
`AdversarialModel` (a generator and a discriminator with one optimizer each)
and writes only its `train_step`.
"""

import inspect
import keras
import numpy as np
from keras import ops

from keras_genart import backend as _backend
from keras_genart import latents, losses
from keras_genart.data.augment import build_augmentation
from keras_genart.networks import layers as _custom_layers  # noqa: F401  (registers them)
from keras_genart.networks.layers import place_in_class

PACKAGE = "keras_genart"


@keras.saving.register_keras_serializable(package=PACKAGE)
class GenerativeModel(keras.Model):
    """Base of keras_genart's models: the protocol callbacks and export use.

    Protocol: `latent_dim`, `generator` (a functional model latents -> images
    in [-1, 1]; the one trained), `sampling_generator` (the one that makes
    pictures: the generator's moving average where a GAN keeps one),
    `generate(n, seed)`, `image_size`, `channels`, `model_type`, and
    `class_names` (None, or the classes of a conditional model, whose
    generator takes `[z, label]`).

    A model writes its training logic once, in `keras.ops`, in
    `compute_step(data)`: it calls `self._minimize(optimizer_name, loss_fn)`
    for each optimizer step and draws randomness with `self._normal` /
    `self._uniform`. `train_step` hands it to the backend in use
    (`keras_genart.backend`): as it is under TensorFlow, inside a stateless
    step that carries every optimizer's and seed generator's state under JAX.

    Args:
        latent_dim: int. Size of the latent vector.
        augmentation: list of str. Augmentations applied in `train_step` to
            real images (and, in GANs, to generated ones before the
            discriminator), from `keras_genart.data.augment.AUGMENTATIONS`.
            Defaults to None (none).
        seed: int. Seed of the training-time randomness (latents, noise,
            augmentation). Defaults to None.
        class_names: list of str. A conditional model's classes, in label
            order (its networks take the label as a second input). Defaults
            to None (unconditional).
    """

    model_type = None
    optimizer_names = ("optimizer",)

    def __init__(self, latent_dim, augmentation=None, seed=None, class_names=None, **kwargs):
        self._backend = _backend.current()
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        if class_names is not None:
            class_names = [str(name) for name in class_names]
            if not class_names or len(set(class_names)) != len(class_names):
                raise ValueError(f"class_names must be distinct names of at least one class, "
                                 f"got {class_names}")
        self.class_names = class_names
        self.augmentation_names = list(augmentation or [])
        self.seed = seed
        self.augmentation = build_augmentation(self.augmentation_names)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self._trackers = {}
        self._genart_compile_config = None

    # --- trackers -----------------------------------------------------------
    def _add_trackers(self, *names):
        for name in names:
            self._trackers[name] = keras.metrics.Mean(name=name)

    @property
    def metrics(self):
        return list(self._trackers.values())

    def _update_trackers(self, **values):
        for name, value in values.items():
            self._trackers[name].update_state(value)
        return {m.name: m.result() for m in self.metrics}

    # --- the training step ----------------------------------------------------
    def train_step(self, *args):
        # TensorFlow's trainer calls train_step(data), JAX's train_step(state, data).
        return self._backend.train_step(self, *args)

    def fit(self, x=None, y=None, *args, **kwargs):
        if inspect.isgenerator(x) and not args:
            # make_dataset's batches come shuffled; Keras would only warn that it
            # cannot shuffle a generator.
            kwargs.setdefault("shuffle", False)
        # jit_compile="auto" on a CPU: a long fit first measures XLA (see compile).
        if getattr(self, "_jit_to_measure", False) and not args:
            x = self._backend.choose_jit_compile(self, x, kwargs)
        if not args:
            # TensorFlow: our own tf.data wrapper, whose end does not stall.
            x = self._backend.fit_input(x)
        return super().fit(x, y, *args, **kwargs)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras' TensorFlow trainer builds a model's state symbolically from
        # the first batch, which it first reduces across replicas; under
        # MultiWorkerMirroredStrategy that eager reduce fails. Our models are
        # built in __init__ and their optimizers in compile: nothing to build.
        if self.built and all(layer.built for layer in self._flatten_layers()):
            return None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def compute_step(self, data):
        """One training step in `keras.ops`; returns the trackers' results."""
        raise NotImplementedError

    def _minimize(self, optimizer_name, loss_fn):
        """One step of an optimizer on `loss_fn() -> (loss, aux)`; returns `(loss, aux)`."""
        return self._backend.minimize(getattr(self, optimizer_name),
                                      self._optimizer_variables(optimizer_name), loss_fn)

    def _minimize_jointly(self, optimizer_names, loss_fn):
        """One step of several optimizers on `loss_fn() -> (losses, aux)`, one forward pass."""
        steps = [(getattr(self, name), self._optimizer_variables(name))
                 for name in optimizer_names]
        return self._backend.minimize_jointly(steps, loss_fn)

    @property
    def num_classes(self):
        """Number of classes of a conditional model; 0 for an unconditional one."""
        return len(self.class_names) if self.class_names else 0

    def _real_images(self, data):
        """The images of a batch, augmented."""
        images = data
        # fit yields images or (images, labels); train_on_batch(x) packs
        # (x, None, None). The images are the first leaf either way.
        while isinstance(images, (tuple, list)):
            images = images[0]
        return self._augment(ops.convert_to_tensor(images), real=True)

    @property
    def trains_on_labels(self):
        """Whether training reads the data's labels (a conditional model's classes)."""
        return bool(self.num_classes)

    @property
    def label_names(self):
        """The classes `generate(labels=...)` can be asked for (None: it takes no labels)."""
        return self.class_names

    def _real_labels(self, data):
        """The int32 labels of a batch `(images, labels)` when the model trains on labels
        (`trains_on_labels`); None otherwise."""
        if not self.trains_on_labels:
            return None
        # fit: (images, labels); train_on_batch(images, labels): (images, labels, None);
        # train_on_batch((images, labels)): ((images, labels), None, None).
        while isinstance(data, (tuple, list)) and data and isinstance(data[0], (tuple, list)):
            data = data[0]
        if isinstance(data, (tuple, list)) and len(data) > 1 and data[1] is not None:
            return ops.cast(ops.reshape(ops.convert_to_tensor(data[1]), (-1,)), "int32")
        raise ValueError(f"{type(self).__name__} learns classes from the labels of the data: "
                         "it trains on (images, labels) batches, and this batch has no labels")

    def _augment(self, images, real=False):
        """The model's augmentation (identity when it has none).

        Real pictures get every augmentation; generated ones (GANs) only the
        differentiable ones (DiffAugment, Zhao et al. 2020), before the
        discriminator in both steps, so that the generator is not taught to
        produce augmented pictures. `flip` is for real pictures only: see
        `keras_genart.data.augment`.
        """
        if self.augmentation is None:
            return images
        return self.augmentation(images, self._uniform, real=real)

    def _draw(self, sample, shape):
        """`sample(shape)` for this replica's part of the global batch.

        Every replica draws the global batch's numbers from the same seed and
        keeps its own slice, so replicas get different latents and noise, and
        N replicas draw exactly what one device would for the whole batch.
        """
        replicas = self._backend.num_replicas()
        if replicas == 1:
            return sample(shape)
        local = shape[0]
        full = sample((local * replicas, *shape[1:]))
        start = [self._backend.replica_id() * local] + [0] * (len(shape) - 1)
        return ops.slice(full, start, shape)

    def _normal(self, shape):
        """Standard-normal numbers for this replica, from the model's seed generator."""
        return self._draw(lambda s: keras.random.normal(s, seed=self.seed_generator), shape)

    def _uniform(self, shape):
        """U[0, 1) numbers for this replica, from the model's seed generator."""
        return self._draw(lambda s: keras.random.uniform(s, seed=self.seed_generator), shape)

    def _global_mean(self, per_sample):
        """Mean over the global batch: the local mean over the replica count."""
        per_sample = ops.cast(per_sample, "float32")
        return ops.mean(per_sample) / self._backend.num_replicas()

    # --- the protocol --------------------------------------------------------
    @property
    def sampling_generator(self):
        """The network that `generate`, image grids, evaluation and export use."""
        return self.generator

    def refresh_sampling_statistics(self):
        """Brings `sampling_generator`'s batch-norm statistics up to date, if it keeps its own.

        Call it (eagerly) before using `sampling_generator` directly;
        `generate`, export and saving call it. Returns True when statistics
        were recomputed. The base model's sampling network is the trained
        one, whose statistics training keeps: nothing to do.
        """
        return False

    @property
    def image_size(self):
        return int(self.generator.output.shape[1])

    @property
    def channels(self):
        return int(self.generator.output.shape[-1])

    @property
    def gray(self):
        """Whether the generator makes gray pictures (`build_generator(gray=True)`:
        one channel, named `gray`, copied into every output channel)."""
        return any(layer.name == "gray" for layer in self.generator.layers)

    def generate(self, n, seed=0, batch_size=256, labels=None, truncation=None):
        """Makes `n` images from the latents of `seed`.

        Latents come from `keras_genart.latents.sample_truncated_latents(n,
        latent_dim, seed, truncation)`, the recipe every runtime shares.

        Args:
            n: int. Number of images.
            seed: int. Defaults to 0.
            batch_size: int. Images per forward pass. Defaults to 256.
            labels: a conditional model's classes: one class (index or name)
                for every picture, or a list of `n`. Defaults to None: the
                classes in turn (`keras_genart.latents.class_labels`).
            truncation: float in (0, 1]. The share of each latent value's
                normal distribution kept (values beyond are redrawn): less
                variety, more typical pictures. Defaults to None (1, none).

        Returns:
            float32 NumPy array `(n, s, s, c)` in [0, 1].
        """
        z = latents.sample_truncated_latents(n, self.latent_dim, seed, truncation)
        return self.generate_from_latents(z, batch_size=batch_size, labels=labels)

    def resolve_labels(self, labels, n):
        """int32 labels `(n,)` for `generate`'s `labels` (`keras_genart.latents.resolve_labels`)."""
        return latents.resolve_labels(labels, n, self.class_names)

    def generate_from_latents(self, z, batch_size=256, labels=None, class_weights=None):
        """Images in [0, 1] for given latents `(n, latent_dim)` (and labels: see `generate`).

        `class_weights` `(n, num_classes)` (conditional models, instead of
        `labels`): each picture's class as a weighted mix of the classes
        (`networks.layers.class_mixture`): one-hot rows are the classes
        themselves, rows in between draw walks from one class to another.
        """
        from keras_genart.networks.layers import class_mixture

        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"latents must have shape (n, {self.latent_dim}), got {z.shape}")
        if class_weights is not None:
            class_weights = self._check_class_weights(class_weights, len(z), labels)
            labels = np.argmax(class_weights, axis=1).astype(np.int32)
        labels = self.resolve_labels(labels, len(z))
        self.refresh_sampling_statistics()
        out = []
        for start in range(0, len(z), batch_size):
            inputs = z[start : start + batch_size]
            if labels is not None:
                inputs = [inputs, labels[start : start + batch_size]]
            if class_weights is None:
                images = self.sampling_generator(inputs, training=False)
            else:
                with class_mixture(class_weights[start : start + batch_size]):
                    images = self.sampling_generator(inputs, training=False)
            out.append(ops.convert_to_numpy(images))
        images = np.concatenate(out)
        return np.clip((images + 1.0) * 0.5, 0.0, 1.0).astype(np.float32)

    def _check_class_weights(self, weights, n, labels):
        if not self.num_classes:
            raise ValueError("class weights are for conditional models; this one has no "
                             "classes")
        if labels is not None:
            raise ValueError("give labels or class_weights, not both")
        weights = np.asarray(weights, np.float32)
        if (weights.shape != (n, self.num_classes) or not np.isfinite(weights).all()
                or weights.min() < 0 or not np.allclose(weights.sum(axis=1), 1.0, atol=1e-5)):
            raise ValueError(f"class_weights must be ({n}, {self.num_classes}): non-negative "
                             f"rows that sum to 1, got shape {weights.shape}")
        return weights

    # --- compile: optimizers built eagerly, config round trip ---------------
    default_learning_rate = 1e-3
    default_betas = (0.9, 0.999)

    def default_optimizer_settings(self):
        """`{name: {"learning_rate", "beta_1", "beta_2"}}`: Adam's defaults per optimizer."""
        beta_1, beta_2 = self.default_betas
        return {name: {"learning_rate": self.default_learning_rate, "beta_1": beta_1,
                       "beta_2": beta_2} for name in self.optimizer_names}

    def _default_optimizers(self):
        return {name: keras.optimizers.Adam(name=name, **settings)
                for name, settings in self.default_optimizer_settings().items()}

    def compile(self, *optimizer, jit_compile="auto", steps_per_execution=1,
                run_eagerly=False, **optimizers):
        """Configures training.

        Args:
            *optimizer: the optimizer of a one-optimizer model (the VAE) may
                be given by position; models with several optimizers refuse a
                positional one (which would it be?).
            jit_compile: bool or `"auto"`. Compile the train step with XLA.
                Defaults to `"auto"`: JAX always compiles; TensorFlow uses
                XLA on GPUs, not under `tf.distribute`, and on CPUs times
                both ways at the start of a long `fit` (1,000 steps or more)
                and keeps the faster: XLA was 0.4x as fast as graph mode on
                one CPU and 1.9x on another (see the README).
            steps_per_execution: int. Batches per compiled call. Defaults to 1.
            run_eagerly: bool. Defaults to False.
            **optimizers: the model's optimizers by name (`optimizer` for the
                VAE; `g_optimizer` and `d_optimizer` for GANs), as
                `keras.optimizers.Optimizer`, name or config. Missing ones get
                the model's defaults. Under a `mixed_float16` dtype policy each
                is wrapped in a `keras.optimizers.LossScaleOptimizer`.
        """
        if optimizer:
            if len(optimizer) > 1 or self.optimizer_names != ("optimizer",):
                raise TypeError(
                    f"{type(self).__name__}.compile() takes its optimizers by name "
                    f"({', '.join(n + '=...' for n in self.optimizer_names)}); "
                    f"got {len(optimizer)} positional argument(s)")
            if "optimizer" in optimizers:
                raise TypeError("optimizer given both by position and by name")
            optimizers["optimizer"] = optimizer[0]
        unknown = set(optimizers) - set(self.optimizer_names)
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.compile() takes optimizers "
                f"{self.optimizer_names}, got {sorted(unknown)}"
            )
        if not (jit_compile == "auto" or isinstance(jit_compile, bool)):
            raise ValueError(f"jit_compile must be True, False or 'auto', got {jit_compile!r}")
        defaults = self._default_optimizers()
        resolved = {}
        for name in self.optimizer_names:
            opt = optimizers.get(name)
            opt = keras.optimizers.get(opt) if opt is not None else defaults[name]
            resolved[name] = _with_loss_scaling(opt, self._computes_in_float16())
        if len({id(o) for o in resolved.values()}) != len(resolved):
            raise ValueError("each network needs its own optimizer instance")
        super().compile(
            optimizer=resolved.get("optimizer"),
            jit_compile=(False if run_eagerly
                         else self._backend.resolve_jit_compile(self, jit_compile)),
            steps_per_execution=steps_per_execution,
            run_eagerly=run_eagerly,
        )
        for name, opt in resolved.items():
            if name != "optimizer":
                setattr(self, name, opt)
            # Built now, not lazily inside the (possibly replicated) step.
            opt.build(self._optimizer_variables(name))
        if "optimizer" not in resolved:
            # One object that Keras' trainer and callbacks see as the optimizer.
            self.optimizer = _backend.OptimizerGroup(
                [resolved[n] for n in self.optimizer_names])
        self._genart_compile_config = {
            "jit_compile": jit_compile,
            "steps_per_execution": steps_per_execution,
            **{n: keras.optimizers.serialize(_unwrapped(o)) for n, o in resolved.items()},
        }

    def _optimizer_variables(self, name):
        return self.trainable_variables

    def _computes_in_float16(self):
        return any(getattr(layer.dtype_policy, "compute_dtype", None) == "float16"
                   for layer in self._flatten_layers())

    def get_compile_config(self):
        return dict(self._genart_compile_config or {})

    def compile_from_config(self, config):
        config = dict(config)
        for name in self.optimizer_names:
            if name in config:
                config[name] = keras.optimizers.deserialize(config[name])
        self.compile(**config)

    # --- saving: seed generator states ------------------------------------------
    # Keras saves layer variables but not SeedGenerator states; without them
    # a loaded model would draw different latents and augmentations than the
    # model that was saved, and `fit` would not continue where it stopped.
    def _seed_states(self):
        return [sg.state for layer in self._flatten_layers(include_self=True)
                for sg in getattr(layer, "_seed_generators", [])]

    def save_own_variables(self, store):
        super().save_own_variables(store)
        for i, state in enumerate(self._seed_states()):
            store[f"seed_state_{i}"] = state

    def load_own_variables(self, store):
        own = self._trainable_variables + self._non_trainable_variables
        for i, variable in enumerate(own):
            variable.assign(store[f"{i}"])
        keys = set(store.keys())
        for i, state in enumerate(self._seed_states()):
            if f"seed_state_{i}" in keys:
                state.assign(store[f"seed_state_{i}"])

    # --- config ---------------------------------------------------------------
    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "latent_dim": self.latent_dim,
            "augmentation": self.augmentation_names,
            "seed": self.seed,
            **({"class_names": self.class_names} if self.class_names else {}),
        }

    # Constructor arguments that are networks; one that is None (an optional
    # network the model does not have) is left out of the config.
    _submodels = ()

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in cls._submodels:
            if key in config:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    def _serialize_submodels(self, config):
        for key in self._submodels:
            if getattr(self, key) is not None:
                config[key] = keras.saving.serialize_keras_object(getattr(self, key))
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class AdversarialModel(GenerativeModel):
    """A GAN whose training step is assembled from parts.

    One step: `d_steps` discriminator updates (each with fresh latents, on
    the step's real batch), then one generator update, then the moving
    average of the generator. The parts:

    - the adversarial loss (`keras_genart.losses`; it sees the real and the
      fake logits);
    - the discriminator's regularisers: the gradient penalty at
      interpolates (WGAN-GP, Gulrajani et al. 2017) and R1, the squared
      gradient norm at the real pictures (Mescheder et al. 2018,
      https://arxiv.org/abs/1801.04406), optionally lazy: computed every
      `r1_interval` discriminator updates and weighted by the interval
      (Karras et al. 2020, StyleGAN2);
    - augmentation: real pictures get every augmentation of the model,
      generated ones the differentiable ones (DiffAugment), in both steps;
    - packing (PacGAN);
    - an exponential moving average of the generator's weights (Karras et
      al. 2018; Yazici et al. 2019, https://arxiv.org/abs/1806.04498):
      `generate`, image grids, evaluation and export use it; the raw
      generator is the one trained.

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
        latent_input = generator.inputs[0].shape[-1]
        latent_dim = latent_dim or int(latent_input)
        if int(latent_input) != latent_dim:
            raise ValueError(
                f"generator takes latents of size {latent_input}, not latent_dim={latent_dim}"
            )
        conditional = class_names is not None
        packing = int(packing)
        if latent_class_names is not None:
            latent_class_names = _check_latent_classes(latent_class_names, generator,
                                                       discriminator, conditional, packing)
        else:
            check_network_inputs({"generator": generator, "discriminator": discriminator},
                                 conditional, "GAN")
        if packing < 1:
            raise ValueError(f"packing must be at least 1, got {packing}")
        if conditional and packing > 1:
            raise ValueError("a conditional GAN does not pack: the packed pictures would "
                             "have different labels")
        made = tuple(generator.output.shape[1:])
        judged = made[:-1] + (made[-1] * packing,)
        if judged != tuple(discriminator.inputs[0].shape[1:]):
            raise ValueError(
                f"generator makes images of shape {made} but the discriminator takes "
                f"{discriminator.inputs[0].shape[1:]}"
                + (f" (with packing {packing} it must take {judged})" if packing > 1 else ""))
        if loss not in losses.ADVERSARIAL_LOSSES:
            raise ValueError(f"adversarial loss must be one of {losses.ADVERSARIAL_LOSSES}, "
                             f"got {loss!r}")
        gp_weight, r1_weight = float(gp_weight), float(r1_weight)
        if not (gp_weight >= 0 and r1_weight >= 0):
            raise ValueError(f"gp_weight and r1_weight must be 0 or more, got {gp_weight}, "
                             f"{r1_weight}")
        if loss == "wasserstein" and not (gp_weight or r1_weight):
            raise ValueError("the wasserstein loss needs a regulariser of the critic "
                             "(gp_weight or r1_weight); without one it diverges")
        if int(d_steps) < 1 or int(r1_interval) < 1:
            raise ValueError(f"d_steps and r1_interval must be at least 1, got {d_steps}, "
                             f"{r1_interval}")
        if gp_weight:
            _check_per_sample_critic(discriminator, packing)
        if ema is not None and not 0.0 < float(ema) < 1.0:
            raise ValueError(f"ema must be a decay in (0, 1) or None, got {ema}")
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
            self.ema_generator = ema_generator or _copy_of(generator)
            self.ema_generator.trainable = False
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
    def sampling_generator(self):
        return self.ema_generator if self.ema_generator is not None else self.generator

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
        layer = _latent_class_layer(self.generator)
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

    # Latents whose pictures set the moving average's batch-norm statistics.
    statistics_samples = 1024
    statistics_seed = 2_718

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
        key = self._statistics_key(generator)
        if key == getattr(self, "_fresh_statistics", None):
            return False
        probes = getattr(self, "_statistics_probes", None)
        if probes is None or probes[0] is not generator:
            # One network per layer, up to its input: a layer's pass stops there.
            probes = (generator, [keras.Model(generator.input, layer.input) for layer in norms])
            # Not an attribute Keras tracks: the probes are no part of the model or its file.
            object.__setattr__(self, "_statistics_probes", probes)
        z = latents.sample_latents(self.statistics_samples, self.latent_dim,
                                   self.statistics_seed)
        labels = self.resolve_labels(None, len(z))
        for layer, probe in zip(norms, probes[1]):
            axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
            moments = []  # per chunk: (count, mean, variance) per channel
            for start in range(0, len(z), 128):  # 128 pictures at a time: bounded memory
                inputs = z[start:start + 128]
                if labels is not None:
                    inputs = [inputs, labels[start:start + 128]]
                x = ops.cast(probe(inputs, training=False), "float32")
                axes = [a for a in range(len(x.shape)) if a != axis % len(x.shape)]
                count = int(np.prod([x.shape[a] for a in axes]))
                moments.append((count, ops.convert_to_numpy(ops.mean(x, axis=axes)),
                                ops.convert_to_numpy(ops.var(x, axis=axes))))
            total = sum(count for count, _, _ in moments)
            mean = sum(count * m.astype(np.float64) for count, m, _ in moments) / total
            variance = sum(count * (v.astype(np.float64) + m.astype(np.float64) ** 2)
                           for count, m, v in moments) / total - mean ** 2
            layer.moving_mean.assign(mean.astype(layer.moving_mean.dtype))
            layer.moving_variance.assign(np.maximum(variance, 0.0)
                                         .astype(layer.moving_variance.dtype))
        object.__setattr__(self, "_fresh_statistics", self._statistics_key(generator))
        return True

    @staticmethod
    def _statistics_key(generator):
        """A checksum of the weights and statistics `refresh_sampling_statistics` reads."""
        return tuple(float(np.sum(ops.convert_to_numpy(v), dtype=np.float64))
                     for v in generator.weights)

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
        if self.gp_weight:
            penalty = self.penalty(real, fake, alpha, labels)
            per_sample = per_sample + self.gp_weight * penalty
            extra.append(ops.mean(penalty))
        if self.r1_weight:
            penalty = self._lazy_r1(real, labels)
            per_sample = per_sample + (0.5 * self.r1_weight) * penalty
            extra.append(ops.mean(penalty))
        if self.loss_kind == "wasserstein":
            extra.append(-ops.mean(adversarial))
        return self._global_mean(per_sample), [ops.mean(per_sample), *extra], fake_logits

    def penalty(self, real, fake, alpha, labels=None):
        """Per-sample gradient penalty at the interpolates (before gp_weight)."""
        alpha = ops.reshape(alpha, (-1,) + (1,) * (len(real.shape) - 1))
        interpolates = real + alpha * (fake - real)
        gradients = self._backend.gradient_wrt_inputs(
            lambda x: self._judge(x, labels, training=True), interpolates
        )
        return losses.gradient_penalty(gradients)

    def r1_penalty(self, real, labels=None):
        """Per judged sample: the squared norm of the discriminator's gradient at `real`.

        Before `r1_weight / 2`; a packed judgement's gradient covers all its pictures.
        """
        gradients = self._backend.gradient_wrt_inputs(
            lambda x: self._judge(x, labels, training=False), real)
        return losses.r1_penalty(gradients, group=self.packing)

    def _lazy_r1(self, real, labels=None):
        """`r1_penalty` every `r1_interval` updates, times the interval; 0 between.

        The same in expectation as R1 at every update, at a sixteenth of the cost
        with the default interval (Karras et al. 2020).
        """
        if self.r1_interval == 1:
            return self.r1_penalty(real, labels)
        if (real.shape[0] is None and self.jit_compile
                and self._backend.XLA_COND_NEEDS_STATIC_BATCH):
            # TensorFlow's XLA failed to differentiate the cond with a batch size that
            # is unknown (a bounded dynamic shape) through the minibatch-std layer:
            # R1 at every update, at its own weight.
            return self.r1_penalty(real, labels)
        due = ops.equal(ops.mod(self.d_optimizer.iterations, self.r1_interval), 0)
        judged = ops.shape(real)[0] // self.packing
        return ops.cond(due,
                        lambda: self.r1_penalty(real, labels) * float(self.r1_interval),
                        lambda: ops.zeros((judged,), "float32"))

    def _update_ema(self):
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


def check_network_inputs(networks, conditional, kind):
    """Refuses networks whose inputs do not fit a conditional (or unconditional) model.

    A conditional model's networks take two inputs (pictures or latents, and
    labels), an unconditional one's one.
    """
    for what, network in networks.items():
        if len(network.inputs) != 1 + bool(conditional):
            raise ValueError(
                f"the {what} takes {len(network.inputs)} input(s): a conditional {kind}'s "
                f"networks take two (pictures or latents, and labels), an unconditional "
                f"{kind}'s one" + (f"; pass class_names for a conditional {kind}"
                                   if not conditional else ""))


def _latent_class_layer(network):
    """A generator's `LatentClass` layer, or None."""
    from keras_genart.networks.layers import LatentClass

    found = [layer for layer in network.layers if isinstance(layer, LatentClass)]
    return found[0] if found else None


def _check_latent_classes(names, generator, discriminator, conditional, packing):
    """The validated `latent_class_names` of an `AdversarialModel` and its networks."""
    names = [str(name) for name in names]
    if conditional:
        raise ValueError("a GAN takes labels (class_names) or codes its classes in the "
                         "latents (latent_class_names), not both")
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError(f"latent_class_names must be two or more distinct names, got {names}")
    if packing != 1:
        raise ValueError("a GAN with latent-coded classes does not pack: the pictures judged "
                         "together would have different labels")
    check_network_inputs({"generator": generator}, False, "GAN")
    check_network_inputs({"discriminator": discriminator}, True, "GAN")
    layer = _latent_class_layer(generator)
    if layer is None or layer.num_classes != len(names):
        raise ValueError(
            f"latent_class_names has {len(names)} classes: the generator must read as many "
            f"from its latents (build_generator(latent_class_shares=...)); it reads "
            f"{0 if layer is None else layer.num_classes}")
    return names


def _copy_of(network):
    """A functional network with the same architecture and a copy of its weights."""
    copy = keras.models.clone_model(network)
    copy.set_weights(network.get_weights())
    return copy


def _check_per_sample_critic(discriminator, packing):
    """A ValueError when the gradient penalty cannot be per sample."""
    from keras_genart.networks.layers import MinibatchStdDev

    if packing != 1:
        raise ValueError("the gradient penalty is per sample: it does not go with packing "
                         "(use R1 or no penalty with packing)")
    for layer in discriminator._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            raise ValueError(
                "a critic with a gradient penalty must not use BatchNormalization (the "
                "penalty is per sample); build it with normalization='layer' or 'none'")
        if isinstance(layer, MinibatchStdDev):
            raise ValueError(
                "a critic with a gradient penalty must not use a minibatch standard-deviation "
                f"layer ({layer.name!r}): it mixes the samples of a batch, and the gradient "
                "penalty is per sample; build it with minibatch_std=False")


def _with_loss_scaling(optimizer, float16):
    """`optimizer`, wrapped for loss scaling when the model computes in float16."""
    if (float16
            and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
        return keras.optimizers.LossScaleOptimizer(optimizer, name=optimizer.name)
    return optimizer


def _unwrapped(optimizer):
    return getattr(optimizer, "inner_optimizer", optimizer)
