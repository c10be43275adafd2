"""`genart sample`, `interpolate`, `vary` and `reconstruct`: pictures from any model.

Each takes a run folder, a `.keras` file or an exported version
(`keras_genart.artifacts`), checks the path, the classes and the flags before a
backend loads, then calls the picture verbs of `keras_genart.pictures` and
writes PNG files with provenance.
"""

import os

from keras_genart.cli.arguments import add_command, non_negative_int, positive_int
from keras_genart.errors import UserInputError

MODEL_HELP = "a run folder, a .keras file or an exported version folder"


def _find(path):
    from keras_genart.artifacts import find_model

    return find_model(path)


def _open(artifact):
    """The model of an artifact found by `_find`; TensorFlow's start-up lines silenced
    where Keras loads."""
    from keras_genart._quiet import quiet_tensorflow
    from keras_genart.artifacts import open_model

    if artifact.needs_backend:
        quiet_tensorflow()
    return open_model(artifact)


def _checked_control(label_names, label, truncation):
    """`(label, truncation)` from --class and --truncation for a model of the classes
    `label_names`, or a UserInputError."""
    from keras_genart.latents import check_truncation, label_from_text, resolve_labels

    try:
        if truncation is not None:
            check_truncation(truncation)
        label = label_from_text(label, label_names)
        resolve_labels(label, 1, label_names)
    except ValueError as error:
        raise UserInputError(str(error)) from None
    return label, truncation


def _save(out, image, provenance):
    from keras_genart import imaging

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    imaging.save_png(out, image, provenance)


def write_samples(model_path, n, seed, out, separate=None, log=print, label=None,
                  truncation=None, per_class=None):
    """Writes a grid PNG (and single PNGs) with provenance from a model.

    `model_path` is a run folder, a `.keras` file or an exported version;
    `label` and `truncation` are `generate`'s; `per_class` K makes a grid of one
    row per class of a model that learnt classes, the same K latents in every
    row (`n` is then K times the number of classes, whatever is passed).
    """
    artifact = _find(model_path)
    label, truncation = _checked_control(artifact.label_names, label, truncation)
    if per_class:
        if not artifact.label_names:
            raise UserInputError("--per-class is for models that learnt classes "
                                 "(--conditional, --latent-classes); this one has none")
        if label is not None:
            raise UserInputError("--per-class draws every class; leave out --class")
    from keras_genart import imaging, pictures

    model = _open(artifact)
    if per_class:
        images = imaging.to_uint8(pictures.class_rows(model, per_class, seed, truncation))
    else:
        images = imaging.to_uint8(pictures.sample(model, n, seed, label, truncation))
    n = len(images)
    provenance = imaging.provenance(model.model_type, os.path.abspath(model_path), seed)
    provenance.update(imaging.control_provenance(model.label_names, label, truncation,
                                                 bool(per_class)))
    _save(out, imaging.make_grid(images, cols=per_class), {**provenance, "keras_genart.n": n})
    log(f"wrote {out} ({n} pictures, seed {seed}"
        + (f", rows: {', '.join(model.label_names)}" if per_class else "") + ")")
    if separate:
        os.makedirs(separate, exist_ok=True)
        for i, image in enumerate(images):
            imaging.save_png(os.path.join(separate, f"seed{seed}-{i:04d}.png"), image,
                             {**provenance, "keras_genart.index": i})
        log(f"wrote {n} pictures into {separate}")
    return images


def cmd_sample(args):
    write_samples(args.model_path, args.n, args.seed, args.out, args.separate,
                  label=args.label, truncation=args.truncation, per_class=args.per_class)
    return 0


def cmd_interpolate(args):
    from keras_genart import imaging

    suffix = os.path.splitext(args.out)[1].lower()
    if suffix not in imaging.ANIMATION_FORMATS:
        raise UserInputError(f"--out {args.out}: the walk is written as an animated "
                             f"{' or '.join(imaging.ANIMATION_FORMATS)} file")
    if args.steps < 2:
        raise UserInputError(f"--steps {args.steps}: a walk has at least 2 pictures")
    artifact = _find(args.model_path)
    names = artifact.label_names
    label, truncation = _checked_control(names, args.label, args.truncation)
    walk = f"slerp from seed {args.from_seed} to seed {args.to_seed}, {args.steps} steps"
    to_label = None
    if args.to_label is not None:
        from keras_genart.latents import resolve_labels

        to_label, _ = _checked_control(names, args.to_label, None)
        if label is None:
            raise UserInputError("--to-class walks from the class of --class: give both")
        if artifact.class_names and not artifact.needs_backend:
            raise UserInputError(f"--to-class: '{args.model_path}' is an exported version, "
                                 "which takes one class per picture; walk between classes "
                                 "with the run folder or the .keras file it was exported "
                                 "from")
        first, last = (names[int(resolve_labels(c, 1, names)[0])] for c in (label, to_label))
        walk += f", class {first} to {last}"
    from keras_genart import pictures

    model = _open(artifact)
    if to_label is None:
        label = pictures.walk_label(model, label)
    frames = imaging.to_uint8(pictures.walk(model, args.from_seed, args.to_seed, args.steps,
                                            label, to_label, truncation))
    provenance = {**imaging.provenance(model.model_type, os.path.abspath(args.model_path),
                                       None),
                  "keras_genart.walk": walk,
                  **imaging.control_provenance(model.label_names, label, truncation)}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    imaging.atomic_write_bytes(args.out, imaging.animation_bytes(
        frames, suffix, args.frame_ms, provenance))
    grid = os.path.splitext(args.out)[0] + ".png"
    imaging.save_png(grid, imaging.make_grid(frames, cols=min(args.steps, 8)), provenance)
    print(f"wrote {args.out} and {grid} ({args.steps} pictures from seed {args.from_seed} "
          f"to seed {args.to_seed})")
    return 0


def _picture_class(class_names, text, what="--class"):
    """The class of pictures to encode, from --class (a conditional VAE needs one)."""
    from keras_genart.latents import label_from_text, resolve_labels

    if text is None:
        if class_names:
            raise UserInputError(f"this VAE is conditional: say which class the picture is "
                                 f"with {what} (one of {', '.join(class_names)})")
        return None
    label = label_from_text(text, class_names)
    try:
        resolve_labels(label, 1, class_names)
    except ValueError as error:
        raise UserInputError(f"{what}: {error}") from None
    return label


def _load_vae(path, label=None, to_label=None):
    """`(model, label, to_label)`: a VAE to vary or reconstruct with, and the classes of
    --class and --to-class. The model type and classes come from the artifact, before a
    backend loads (from the model itself for a Keras class that
    `keras_genart.artifacts` does not know)."""
    artifact = _find(path)
    model = None if artifact.model_type else _open(artifact)
    about = artifact if model is None else model
    if about.model_type != "vae":
        raise UserInputError(f"{path} is a {about.model_type}: variations and "
                             "reconstructions need an encoder, which only the vae has")
    label = _picture_class(about.class_names, label)
    if to_label is not None:
        to_label = _picture_class(about.class_names, to_label, "--to-class")
    if model is None:
        model = _open(artifact)
    if not artifact.needs_backend and model.encoder_session is None:
        raise UserInputError(f"{path} has no encoder.onnx (exported without ONNX, or by "
                             "an older keras_genart): export the VAE again")
    return model, label, to_label


def _read_pictures(paths, model):
    """uint8 pictures `(n, s, s, c)` from files, at the model's size and channels."""
    import numpy as np

    from keras_genart import imaging

    try:
        return np.stack([imaging.load_picture(path, model.image_size, model.channels)
                         for path in paths])
    except ValueError as error:
        raise UserInputError(str(error)) from None


def cmd_vary(args):
    from keras_genart import imaging, pictures
    from keras_genart.latents import VARIATION_RECIPE, check_spread

    try:
        check_spread(args.spread)
    except ValueError as error:
        raise UserInputError(f"--spread: {error}") from None
    model, label, to_label = _load_vae(args.model_path, args.label, args.to_label)
    picture = _read_pictures([args.image], model)[0]
    variations = pictures.vary(model, picture, n=args.n, seed=args.seed, spread=args.spread,
                               label=label, to_label=to_label)
    provenance = {**imaging.provenance("vae", os.path.abspath(args.model_path), args.seed),
                  "keras_genart.source_picture": os.path.abspath(args.image),
                  "keras_genart.spread": str(args.spread),
                  "keras_genart.variation_recipe": VARIATION_RECIPE,
                  **imaging.control_provenance(model.class_names,
                                               label if to_label is None else to_label),
                  "keras_genart.n": args.n}
    _save(args.out, pictures.variation_grid(picture, variations), provenance)
    print(f"wrote {args.out} (the picture, then {args.n} variations, spread {args.spread}, "
          f"seed {args.seed})")
    return 0


def cmd_reconstruct(args):
    from keras_genart import imaging, pictures

    model, label, _ = _load_vae(args.model_path, args.label)
    originals = _read_pictures(args.images, model)
    rebuilt = pictures.reconstruct(model, originals, label)
    provenance = {**imaging.provenance("vae", os.path.abspath(args.model_path), None),
                  **imaging.control_provenance(model.class_names, label),
                  "keras_genart.n": len(originals)}
    _save(args.out, pictures.reconstruction_grid(originals, rebuilt), provenance)
    print(f"wrote {args.out} ({len(originals)} picture{'s' * (len(originals) != 1)}, each "
          "beside its reconstruction; mean absolute error "
          f"{pictures.reconstruction_error(originals, rebuilt):.4f} of the value range)")
    return 0


def _control_arguments(parser, default_class="the classes in turn"):
    parser.add_argument("--class", dest="label", default=None, metavar="NAME",
                        help="conditional models: the class of every picture, a name or an "
                             f"index (default: {default_class})")
    parser.add_argument("--truncation", type=float, default=None, metavar="PSI",
                        help="in [0.05, 1]: the share of each latent value's normal "
                             "distribution kept (values beyond are redrawn); lower: more "
                             "typical pictures, less variety (default: 1, none)")


def _model_argument(parser, help=MODEL_HELP):
    parser.add_argument("model_path", metavar="MODEL", help=help)


def add_commands(sub):
    """`sample`, `interpolate`, `vary` and `reconstruct`."""
    sample = add_command(sub, "sample", cmd_sample,
                         help="generate pictures from a trained or exported model")
    _model_argument(sample)
    sample.add_argument("--n", type=positive_int, default=64, help="number of pictures")
    sample.add_argument("--seed", type=non_negative_int, default=0,
                        help="latents: numpy default_rng(seed).standard_normal((n, latent_dim))")
    sample.add_argument("--out", default="artwork.png", help="grid PNG")
    sample.add_argument("--separate", default=None, metavar="DIR",
                        help="also write one PNG per picture into DIR (default: off)")
    _control_arguments(sample)
    sample.add_argument("--per-class", type=positive_int, default=None, metavar="K",
                        help="conditional models: a grid of one row per class, K pictures "
                             "each, the same K latents in every row, instead of --n "
                             "(default: off)")

    interpolate = add_command(
        sub, "interpolate", cmd_interpolate,
        help="a walk between the pictures of two seeds (animated GIF or WebP)")
    _model_argument(interpolate)
    interpolate.add_argument("--from-seed", type=non_negative_int, default=0,
                             help="the first picture: the first latent of this seed")
    interpolate.add_argument("--to-seed", type=non_negative_int, default=1,
                             help="the last picture: the first latent of this seed")
    interpolate.add_argument("--steps", type=positive_int, default=16,
                             help="pictures on the way, both ends included (at least 2)")
    interpolate.add_argument("--out", default="walk.gif",
                             help="animation: .gif or .webp; the frames grid goes beside it "
                                  "as a .png")
    interpolate.add_argument("--to-class", dest="to_label", default=None, metavar="NAME",
                             help="conditional models: walk from --class to this class as "
                                  "well (the class blends step by step)")
    interpolate.add_argument("--frame-ms", type=positive_int, default=100,
                             help="milliseconds per frame")
    _control_arguments(interpolate, default_class="the first")

    vary = add_command(sub, "vary", cmd_vary,
                       help="VAE: variations of a picture (encoded, then decoded around it)")
    _model_argument(vary, "a VAE: run folder, .keras file, or exported version folder "
                          "(runs with onnxruntime, no TensorFlow)")
    vary.add_argument("image", metavar="IMAGE", help="the picture (any size: centre square, "
                                                      "resized)")
    vary.add_argument("--n", type=positive_int, default=8, help="number of variations")
    vary.add_argument("--spread", type=float, default=0.5,
                      help="distance from the picture in units of the prior's spread (0: "
                           "reconstructions; 1: as far as a fresh sample)")
    vary.add_argument("--seed", type=non_negative_int, default=0, help="seed of the variations")
    vary.add_argument("--class", dest="label", default=None, metavar="NAME",
                      help="conditional VAEs (which need it): the class of the picture")
    vary.add_argument("--to-class", dest="to_label", default=None, metavar="NAME",
                      help="conditional VAEs: draw the variations as this class instead")
    vary.add_argument("--out", default="variations.png",
                      help="grid PNG: the picture, then its variations")

    reconstruct = add_command(
        sub, "reconstruct", cmd_reconstruct,
        help="VAE: pictures encoded and decoded, beside the originals")
    _model_argument(reconstruct, "a VAE: run folder, .keras file, or exported version folder")
    reconstruct.add_argument("images", metavar="IMAGE", nargs="+", help="picture files")
    reconstruct.add_argument("--class", dest="label", default=None, metavar="NAME",
                             help="conditional VAEs (which need it): the class of the pictures")
    reconstruct.add_argument("--out", default="reconstruction.png",
                             help="grid PNG: each picture beside its reconstruction")
