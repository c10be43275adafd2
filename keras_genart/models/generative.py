"""The generative base: what every keras_genart model shares.

`GenerativeModel` holds the trackers, the seeded randomness of a training
step, `generate`, `compile` with one optimizer per network, and the config
and seed state that saving keeps. A new model subclasses it (one optimizer,
like the VAE) or `keras_genart.models.adversarial.AdversarialModel` (a
generator and a discriminator with one optimizer each) and writes only its
`compute_step`.
"""

import inspect

import keras
import numpy as np
from keras import ops

from keras_genart import backend as _backend
from keras_genart import latents
from keras_genart.data.augment import build_augmentation
# Importing networks.layers also registers the custom layers that saved models use.
from keras_genart.networks.layers import class_mixture

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
            truncation: float in [0.05, 1]. The share of each latent value's
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
                one CPU and 1.9x on another (benchmarks/README.md).
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


def _with_loss_scaling(optimizer, float16):
    """`optimizer`, wrapped for loss scaling when the model computes in float16."""
    if (float16
            and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
        return keras.optimizers.LossScaleOptimizer(optimizer, name=optimizer.name)
    return optimizer


def _unwrapped(optimizer):
    return getattr(optimizer, "inner_optimizer", optimizer)
