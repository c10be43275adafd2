"""The picture verbs: samples, a grid per class, walks, variations and reconstructions.

Written once for every runtime: a Keras model of keras_genart and the
onnxruntime `keras_genart.serving.Generator` both have the generator protocol
these functions use, so `genart sample`, the server and a notebook make the
same pictures from the same seed. NumPy only (with `keras_genart.latents` and
`keras_genart.imaging`): no TensorFlow, no Keras.

The generator protocol:

- `latent_dim`: int. The size of a latent.
- `label_names`: list of str, or None. The classes a model can be asked for:
  a conditional model's (`class_names`) or those it codes in its latents.
- `num_classes`: int. The classes of a conditional model (it takes a label
  input); 0 for others.
- `latent_class_shares`: list of float. The classes' shares of a model with
  latent-coded classes (only read for such a model).
- `generate_from_latents(z, labels=None, class_weights=None)`: float32
  pictures `(n, H, W, C)` in [0, 1] for latents `(n, latent_dim)`; `labels`
  one class (a name or an index) or one per picture; `class_weights`
  `(n, num_classes)` blends a conditional model's classes.

A VAE also has `class_names`, `image_size`, `channels` and
`encode_pictures(pictures, labels=None)`, which gives `(mean, log_var)`.
Every function returns float32 pictures in [0, 1]
(`keras_genart.imaging.to_uint8` makes them uint8).
"""

import numpy as np

from keras_genart import imaging
from keras_genart.latents import (
    class_walk,
    latents_in_classes,
    picture_labels,
    resolve_labels,
    sample_truncated_latents,
    slerp,
    variation_latents,
)


def sample(model, n, seed=0, label=None, truncation=None):
    """`n` pictures from the latents of `seed` (`sample_truncated_latents`).

    Args:
        model: a generator (see the module's protocol).
        n: int. Number of pictures.
        seed: int. Seed of the latents. Defaults to 0.
        label: a class (name or index) for every picture, or one per picture.
            Defaults to None: a conditional model's classes in turn.
        truncation: float in [0.05, 1]. The share of each latent value's normal
            distribution kept. Defaults to None (none).
    """
    z = sample_truncated_latents(n, model.latent_dim, seed, truncation)
    return model.generate_from_latents(z, labels=label)


def class_rows(model, per_class, seed=0, truncation=None):
    """A row of `per_class` pictures for every class, the same latents in every row.

    Returns `len(model.label_names) * per_class` pictures, row after row: lay
    them out with `imaging.make_grid(pictures, cols=per_class)`.

    Args:
        model: a generator that learnt classes (conditional or latent-coded).
        per_class: int. Pictures per class.
        seed: int. Seed of the latents. Defaults to 0.
        truncation: float in [0.05, 1]. Defaults to None (none).
    """
    names = model.label_names
    if not names:
        raise ValueError("a grid per class is for models that learnt classes; this one has "
                         "none")
    z = sample_truncated_latents(per_class, model.latent_dim, seed, truncation)
    labels = np.repeat(np.arange(len(names)), per_class)
    return model.generate_from_latents(np.tile(z, (len(names), 1)), labels=labels)


def walk(model, from_seed, to_seed, steps, label=None, to_label=None, truncation=None):
    """Pictures along the spherical path (`slerp`) from one seed's first latent to
    another's, both ends included.

    The walk keeps one class (`label`; a conditional model's first by
    default), or, with `to_label`, walks from class `label` to `to_label` as
    well: a conditional model blends the two classes step by step
    (`class_walk`), one with latent-coded classes walks between the two
    latents moved into their classes.

    Args:
        model: a generator (see the module's protocol).
        from_seed: int. The first picture's seed.
        to_seed: int. The last picture's seed.
        steps: int. Pictures on the way, at least 2.
        label: a class (name or index). Defaults to None.
        to_label: the class the walk ends in. Defaults to None (`label`).
        truncation: float in [0.05, 1]. Defaults to None (none).
    """
    if int(steps) < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    start, end = (sample_truncated_latents(1, model.latent_dim, seed, truncation)[0]
                  for seed in (from_seed, to_seed))
    if to_label is None:
        return model.generate_from_latents(slerp(start, end, steps),
                                           labels=walk_label(model, label))
    if label is None:
        raise ValueError("a walk to a class starts from one: give label as well as to_label")
    first, last = (int(resolve_labels(c, 1, model.label_names)[0]) for c in (label, to_label))
    if model.num_classes:
        return model.generate_from_latents(
            slerp(start, end, steps), class_weights=class_walk(first, last, steps,
                                                               model.num_classes))
    ends = latents_in_classes(np.stack([start, end]), [first, last], model.latent_class_shares)
    return model.generate_from_latents(slerp(ends[0], ends[1], steps))


def walk_label(model, label=None):
    """The class a walk of one class keeps: `label`, or a conditional model's first
    (index 0) when None."""
    return 0 if label is None and model.num_classes else label


def vary(model, picture, n=8, seed=0, spread=0.5, label=None, to_label=None):
    """A VAE's `n` variations of one picture: decoded latents around its encoded mean
    (`keras_genart.latents.variation_latents`).

    Args:
        model: a VAE (see the module's protocol).
        picture: array `(H, W, C)` (or `(1, H, W, C)`), uint8 or floats in [0, 1].
        n: int. Number of variations. Defaults to 8.
        seed: int. Defaults to 0.
        spread: float >= 0. Distance from the picture, in units of the
            prior's spread (0: n reconstructions). Defaults to 0.5.
        label: a conditional VAE's class of the picture (name or index).
        to_label: a conditional VAE's class to draw the variations as.
            Defaults to `label`.
    """
    pictures = imaging.picture_batch(picture, model.image_size, model.channels)
    if len(pictures) != 1:
        raise ValueError(f"vary takes one picture, got {len(pictures)}")
    mean, _ = model.encode_pictures(pictures, None if label is None else [label])
    z = variation_latents(mean[0], n, seed, spread)
    if to_label is not None and not model.num_classes:
        raise ValueError("to_label is for conditional VAEs; this one has no classes")
    return model.generate_from_latents(z, labels=label if to_label is None else to_label)


def reconstruct(model, pictures, label=None):
    """A VAE's pictures decoded from the encoded means of `pictures` (uint8 or floats
    in [0, 1]); a conditional VAE needs their class `label` (one, or one per picture)."""
    mean, _ = model.encode_pictures(pictures, label)
    return model.generate_from_latents(
        mean, labels=picture_labels(label, len(mean), model.class_names))


def as_uint8(pictures):
    """uint8 pictures as they are; floats in [0, 1] as `imaging.to_uint8` makes them."""
    pictures = np.asarray(pictures)
    return pictures if pictures.dtype == np.uint8 else imaging.to_uint8(pictures)


def variation_grid(picture, variations):
    """uint8 grid: the picture, then its variations, at most 9 in a row."""
    pictures = np.concatenate([as_uint8(picture)[None], as_uint8(variations)])
    return imaging.make_grid(pictures, cols=min(len(pictures), 9))


def reconstruction_grid(pictures, rebuilt):
    """uint8 grid: each picture beside its reconstruction, at most 4 pairs in a row."""
    pictures = as_uint8(pictures)
    pairs = np.stack([pictures, as_uint8(rebuilt)], axis=1)
    return imaging.make_grid(pairs.reshape((-1,) + pictures.shape[1:]),
                             cols=2 * min(len(pictures), 4))


def reconstruction_error(pictures, rebuilt):
    """The mean absolute difference of pictures and their reconstructions, as a share of
    the value range (uint8 pictures, or floats in [0, 1])."""
    pictures, rebuilt = as_uint8(pictures), as_uint8(rebuilt)
    return float(np.mean(np.abs(pictures.astype(np.float32) - rebuilt) / 255.0))
