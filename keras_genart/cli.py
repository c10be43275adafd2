"""`genart`: train, sample and demo from the command line.

Thin on purpose: parse, build a config, call the library. Heavy imports
(TensorFlow, Keras) happen inside the commands, so `genart --help` is fast.
"""

import argparse
import json
import os
import sys

from keras_genart._version import __version__
from keras_genart.errors import ExportError, NonFiniteLossError, UserInputError
from keras_genart.export.metadata import VERSION_PATTERN
from keras_genart.backend import SUPPORTED_BACKENDS
from keras_genart.data.augment_names import AUGMENTATIONS
from keras_genart.metrics.names import FEATURE_METRICS, METRICS, check_metrics
from keras_genart.config import RUN_PRESETS


# The demo is a named run preset (`keras_genart.config.RUN_PRESETS["demo"]`).
DEMO = RUN_PRESETS["demo"]
DEMO_PER_CLASS = 8


def _checked(convert, accept, expected):
    """An argparse type: `convert` the text, then require `accept(value)`."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


_positive_int = _checked(int, lambda v: v >= 1, "a positive integer")
_non_negative_int = _checked(int, lambda v: v >= 0, "a non-negative integer")
_positive_float = _checked(float, lambda v: v > 0, "a positive number")
_unit_float = _checked(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
_decay = _checked(float, lambda v: 0 < v < 1, "a decay in (0, 1), such as 0.999")
_non_negative_float = _checked(float, lambda v: v >= 0, "a number, 0 or more")
_port = _checked(int, lambda v: 1 <= v <= 65535, "a port number from 1 to 65535")


def _image_size(text):
    value = _positive_int(text)
    if value not in (16, 32, 64, 128):
        raise argparse.ArgumentTypeError(
            f"{text} is not supported; choose 16, 32, 64 or 128 (powers of two)")
    return value


def _augment_list(text):
    if text in ("", "none"):
        return []
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in AUGMENTATIONS]
    if bad:
        raise argparse.ArgumentTypeError(
            f"unknown augmentation {', '.join(bad)}; choose from {', '.join(AUGMENTATIONS)} "
            "(comma-separated) or 'none'")
    return names


def _metric_list(text):
    try:
        return check_metrics(n.strip() for n in text.split(",") if n.strip())
    except UserInputError as e:
        raise argparse.ArgumentTypeError(f"{e} (comma-separated)") from e


def _formats(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in ("savedmodel", "onnx")]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown format {', '.join(bad) or '(none)'}; choose savedmodel, onnx or both")
    return names


def _version_list(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if not (VERSION_PATTERN.fullmatch(n) and int(n) > 0)]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"versions must be positive integers separated by commas, got {text!r}")
    return [int(n) for n in names]


def _bool_or_auto(text):
    if text.lower() == "auto":
        return "auto"
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected auto, true or false, got {text!r}")


def _int_or_auto(text):
    if text.lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto or a whole number, got {text!r}") \
            from None


def _ema(text):
    if text.lower() in ("auto", "none", "off"):
        return "auto" if text.lower() == "auto" else None
    try:
        return _decay(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected auto, none or a decay in (0, 1) such as 0.999, got {text!r}") from None


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with one readable default: "(default: X)", or
    "(required)"; a help text that already says its default keeps its own."""

    def _get_help_string(self, action):
        text = action.help or ""
        if not action.option_strings or action.default is argparse.SUPPRESS or \
                "(default:" in text or "(required)" in text:
            return text
        if action.required:
            return f"{text} (required)".strip()
        default = action.default
        if isinstance(default, bool):
            shown = "on" if default else "off"
        elif default is None:
            shown = "none"
        elif isinstance(default, (list, tuple)):
            shown = ",".join(map(str, default))
        else:
            shown = str(default).replace("%", "%%")
        return f"{text} (default: {shown})".strip()


def build_parser():
    parser = argparse.ArgumentParser(
        prog="genart", description="Train generative art models with Keras and sample them.")
    parser.add_argument("--version", action="version", version=f"keras_genart {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="keep TensorFlow's start-up and C++ log lines (also "
                        "GENART_VERBOSE=1)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fmt = _HelpFormatter

    train = sub.add_parser("train", help="train a model (resumes an unfinished run folder)",
                           formatter_class=fmt)
    add_train_arguments(train)

    sample = sub.add_parser("sample", help="generate pictures from a trained model",
                            formatter_class=fmt)
    sample.add_argument("model_path", metavar="RUN_DIR_OR_.keras",
                        help="a run folder or a .keras file")
    sample.add_argument("--n", type=_positive_int, default=64, help="number of pictures")
    sample.add_argument("--seed", type=_non_negative_int, default=0,
                        help="latents: numpy default_rng(seed).standard_normal((n, latent_dim))")
    sample.add_argument("--out", default="artwork.png", help="grid PNG")
    sample.add_argument("--separate", default=None, metavar="DIR",
                        help="also write one PNG per picture into DIR (default: off)")
    _control_arguments(sample)
    sample.add_argument("--per-class", type=_positive_int, default=None, metavar="K",
                        help="conditional models: a grid of one row per class, K pictures "
                             "each, the same K latents in every row, instead of --n "
                             "(default: off)")

    interpolate = sub.add_parser(
        "interpolate", help="a walk between the pictures of two seeds (animated GIF or WebP)",
        formatter_class=fmt)
    interpolate.add_argument("model_path", metavar="RUN_DIR_OR_.keras",
                             help="a run folder or a .keras file")
    interpolate.add_argument("--from-seed", type=_non_negative_int, default=0,
                             help="the first picture: the first latent of this seed")
    interpolate.add_argument("--to-seed", type=_non_negative_int, default=1,
                             help="the last picture: the first latent of this seed")
    interpolate.add_argument("--steps", type=_positive_int, default=16,
                             help="pictures on the way, both ends included (at least 2)")
    interpolate.add_argument("--out", default="walk.gif",
                             help="animation: .gif or .webp; the frames grid goes beside it "
                                  "as a .png")
    interpolate.add_argument("--to-class", dest="to_label", default=None, metavar="NAME",
                             help="conditional models: walk from --class to this class as "
                                  "well (the class blends step by step)")
    interpolate.add_argument("--frame-ms", type=_positive_int, default=100,
                             help="milliseconds per frame")
    _control_arguments(interpolate, default_class="the first")

    vary = sub.add_parser(
        "vary", help="VAE: variations of a picture (encoded, then decoded around it)",
        formatter_class=fmt)
    vary.add_argument("model_path", metavar="MODEL",
                      help="a VAE: run folder, .keras file, or exported version folder "
                           "(runs with onnxruntime, no TensorFlow)")
    vary.add_argument("image", metavar="IMAGE", help="the picture (any size: centre square, "
                                                      "resized)")
    vary.add_argument("--n", type=_positive_int, default=8, help="number of variations")
    vary.add_argument("--spread", type=float, default=0.5,
                      help="distance from the picture in units of the prior's spread (0: "
                           "reconstructions; 1: as far as a fresh sample)")
    vary.add_argument("--seed", type=_non_negative_int, default=0, help="seed of the variations")
    vary.add_argument("--class", dest="label", default=None, metavar="NAME",
                      help="conditional VAEs (which need it): the class of the picture")
    vary.add_argument("--to-class", dest="to_label", default=None, metavar="NAME",
                      help="conditional VAEs: draw the variations as this class instead")
    vary.add_argument("--out", default="variations.png",
                      help="grid PNG: the picture, then its variations")

    reconstruct = sub.add_parser(
        "reconstruct", help="VAE: pictures encoded and decoded, beside the originals",
        formatter_class=fmt)
    reconstruct.add_argument("model_path", metavar="MODEL",
                             help="a VAE: run folder, .keras file, or exported version folder")
    reconstruct.add_argument("images", metavar="IMAGE", nargs="+", help="picture files")
    reconstruct.add_argument("--class", dest="label", default=None, metavar="NAME",
                             help="conditional VAEs (which need it): the class of the pictures")
    reconstruct.add_argument("--out", default="reconstruction.png",
                             help="grid PNG: each picture beside its reconstruction")

    export = sub.add_parser("export", help="export a generator as SavedModel and ONNX",
                            formatter_class=fmt)
    export.add_argument("model_path", metavar="RUN_DIR_OR_.keras",
                        help="a run folder or a .keras file")
    export.add_argument("--out", required=True, metavar="DIR",
                        help="model base folder: writes DIR/NAME/VERSION/")
    export.add_argument("--name", default=None, help="model name (default: the model type)")
    export.add_argument("--version", type=_positive_int, default=None,
                        help="version number (default: one more than the highest present)")
    export.add_argument("--formats", type=_formats, default="savedmodel,onnx",
                        help="comma-separated: savedmodel, onnx")
    export.add_argument("--opset", type=_positive_int, default=17, help="ONNX opset")
    export.add_argument("--force", action="store_true", help="replace an existing version")

    serve = sub.add_parser("serve", help="serve exported models with TF Serving's REST API",
                           formatter_class=fmt)
    serve.add_argument("model_root", metavar="DIR", nargs="?", default=None,
                       help="the folder given to export --out (or --model-config-file)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (0.0.0.0: every interface)")
    serve.add_argument("--port", type=_port, default=8501, help="port (TF Serving's REST port)")
    serve.add_argument("--max-batch", type=_positive_int, default=64,
                       help="most latents per predict request")
    serve.add_argument("--max-body-bytes", type=_positive_int, default=1 << 20,
                       help="largest request body; larger ones get 413")
    serve.add_argument("--threads", type=_positive_int, default=None,
                       help="onnxruntime threads per model (default: onnxruntime's)")
    serve.add_argument("--model-config-file", metavar="FILE", default=None,
                       help="TF Serving's model config file instead of DIR: models from "
                            "several folders, version policies and version labels "
                            "(serving/models.config)")
    serve.add_argument("--model-config-file-poll-wait-seconds", type=_non_negative_int,
                       default=60, metavar="SECONDS",
                       help="reread the model config file when it changes, checking this "
                            "often (0: never)")
    policy = serve.add_mutually_exclusive_group()
    policy.add_argument("--num-versions", type=_positive_int, default=None,
                        help="serve the latest N versions of each model; older ones unload "
                             "(TF Serving's version policy; default 1)")
    policy.add_argument("--versions", type=_version_list, default=None,
                        help="serve only these versions, e.g. 3,5 (TF Serving's 'specific' "
                             "policy)")

    evaluate = sub.add_parser(
        "evaluate",
        help="score generated pictures against real ones (FID, KID, PR, DC, novelty, classes)",
        formatter_class=fmt)
    evaluate.add_argument("model_path", nargs="?", default=None,
                          metavar="RUN_DIR|MODEL.keras|EXPORTED_VERSION",
                          help="what makes the pictures (or give --generated)")
    evaluate.add_argument("--generated", default=None, metavar="FOLDER",
                          help="a folder of pictures made by any tool, instead of a model "
                          "(default: none)")
    evaluate.add_argument("--data", required=True,
                          help="the real (training) pictures: folder, builtin:NAME or tfds:NAME")
    evaluate.add_argument("--n", type=_positive_int, default=5000,
                          help="pictures generated, and real pictures compared with")
    evaluate.add_argument("--image-size", type=_image_size, default=None,
                          help="size of --generated pictures (default: 32; models use theirs)")
    evaluate.add_argument("--features", default="random",
                          help="feature extractor: random, inception, classifier (the built-in "
                          "style classifier) or a .keras file")
    evaluate.add_argument("--feature-weights", default=None, metavar="PATH",
                          help="InceptionV3 no-top weights, or the classifier's .npz (default: "
                          "Keras' cache for inception, the shipped file for classifier)")
    evaluate.add_argument("--metrics", type=_metric_list, default=None,
                          help="comma-separated, from " + ", ".join(METRICS) + " (default: all "
                          "but classes; classes too for builtin: data or with --classifier)")
    evaluate.add_argument("--classifier", default=None, metavar="style|MODEL.keras",
                          help="for the classes metric: the built-in style classifier, or a "
                          ".keras model giving the data's class scores (default: style for "
                          "builtin: data)")
    evaluate.add_argument("--seed", type=_non_negative_int, default=0,
                          help="latents, real-picture subset and KID subsets")
    evaluate.add_argument("--tfds-data-dir", default=None,
                          help="folder where TFDS data sets were prepared "
                          "(default: TFDS' own, ~/tensorflow_datasets)")
    evaluate.add_argument("--out", default="report.json",
                          help="JSON report; the picture report goes beside it as .png")

    demo = sub.add_parser("demo", help="train the default DCGAN on the five built-in "
                          f"styles ({DEMO['data']}), write artwork.png (a row per style)",
                          formatter_class=fmt)
    demo.add_argument("--epochs", type=_positive_int, default=DEMO["epochs"],
                      help=f"epochs of {DEMO['steps_per_epoch']} steps")
    demo.add_argument("--run-dir", default=DEMO["run_dir"], help="run folder")
    demo.add_argument("--out", default="artwork.png",
                      help=f"grid PNG: {DEMO_PER_CLASS} pictures of each style, a row per style")
    return parser


def add_train_arguments(parser):
    """`genart train`'s flags: one per setting of `keras_genart.config`, and the command's own."""
    from keras_genart.config import add_arguments

    add_arguments(parser)
    parser.add_argument("--backend", choices=SUPPORTED_BACKENDS, default=None,
                        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the resolved config (what every auto means on this "
                             "data) and exit")


def _train_config(args):
    from keras_genart.config import from_arguments

    # A progress bar on a terminal; one line per epoch in a log file (the bar's \r
    # updates made megabytes of it).
    return from_arguments(args, verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2))


def _dry_run(config):
    """The resolved config, as JSON: what the run would train, decided on its data."""
    from keras_genart import config as settings
    from keras_genart.data.sources import load_images

    settings.check_data_exists(config)
    data = load_images(config.data.source, image_size=config.model.image_size,
                       seed=config.seed, tfds_data_dir=config.data.tfds_data_dir)
    resolved = settings.resolve(config, data.class_names, data.grayscale)
    return json.dumps(resolved.to_dict(), indent=2)


def _verbose():
    from keras_genart._quiet import verbose

    return verbose()


def _quiet_tensorflow():
    from keras_genart._quiet import quiet_tensorflow

    quiet_tensorflow()


def _select_backend(name):
    """Sets KERAS_BACKEND before Keras loads; refuses a clash with a loaded Keras."""
    if name is None:
        return
    if "keras" in sys.modules and sys.modules["keras"].backend.backend() != name:
        raise UserInputError(
            f"--backend {name}: Keras is already loaded with the "
            f"{sys.modules['keras'].backend.backend()} backend in this process")
    os.environ["KERAS_BACKEND"] = name


def cmd_train(args):
    from keras_genart.config import check_data_exists

    config = _train_config(args)
    _select_backend(args.backend)
    if args.dry_run:
        print(_dry_run(config))
        return 0
    check_data_exists(config)
    _quiet_tensorflow()
    from keras_genart.runs import train

    train(config)
    return 0


def _control_arguments(parser, default_class="the classes in turn"):
    parser.add_argument("--class", dest="label", default=None, metavar="NAME",
                        help="conditional models: the class of every picture, a name or an "
                             f"index (default: {default_class})")
    parser.add_argument("--truncation", type=float, default=None, metavar="PSI",
                        help="in (0, 1]: the share of each latent value's normal "
                             "distribution kept (values beyond are redrawn); lower: more "
                             "typical pictures, less variety (default: 1, none)")


def _checked_control(model, label, truncation):
    """`(labels, truncation)` from --class and --truncation, or a UserInputError."""
    from keras_genart.latents import check_truncation, label_from_text, resolve_labels

    try:
        if truncation is not None:
            check_truncation(truncation)
        label = label_from_text(label, model.label_names)
        resolve_labels(label, 1, model.label_names)
    except ValueError as error:
        raise UserInputError(str(error)) from None
    return label, truncation


def write_samples(model_path, n, seed, out, separate=None, log=print, label=None,
                  truncation=None, per_class=None):
    """Loads a model and writes a grid PNG (and single PNGs) with provenance.

    `label` and `truncation` are `generate`'s; `per_class` K makes a grid of one
    row per class of a conditional model, the same K latents in every row (`n`
    is then K times the number of classes, whatever is passed).
    """
    import numpy as np

    from keras_genart import imaging
    from keras_genart.latents import sample_truncated_latents
    from keras_genart.runs import load_trained_model

    model = load_trained_model(model_path)
    label, truncation = _checked_control(model, label, truncation)
    cols = None
    if per_class:
        if not model.label_names:
            raise UserInputError("--per-class is for models that learnt classes "
                                 "(--conditional, --latent-classes); this one has none")
        if label is not None:
            raise UserInputError("--per-class draws every class; leave out --class")
        classes = len(model.label_names)
        z = sample_truncated_latents(per_class, model.latent_dim, seed, truncation)
        z = np.tile(z, (classes, 1))
        labels = np.repeat(np.arange(classes), per_class)
        images = imaging.to_uint8(model.generate_from_latents(z, labels=labels))
        n, cols = len(images), per_class
    else:
        images = imaging.to_uint8(model.generate(n, seed=seed, labels=label,
                                                 truncation=truncation))
    provenance = imaging.provenance(model.model_type, os.path.abspath(model_path), seed)
    provenance.update(imaging.control_provenance(model.label_names, label, truncation,
                                                 bool(per_class)))
    out_dir = os.path.dirname(os.path.abspath(out))
    os.makedirs(out_dir, exist_ok=True)
    imaging.save_png(out, imaging.make_grid(images, cols=cols),
                     {**provenance, "keras_genart.n": n})
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
    import numpy as np

    from keras_genart import imaging
    from keras_genart.latents import (class_walk, latents_in_classes, resolve_labels,
                                      sample_truncated_latents, slerp)
    from keras_genart.runs import load_trained_model

    suffix = os.path.splitext(args.out)[1].lower()
    if suffix not in imaging.ANIMATION_FORMATS:
        raise UserInputError(f"--out {args.out}: the walk is written as an animated "
                             f"{' or '.join(imaging.ANIMATION_FORMATS)} file")
    if args.steps < 2:
        raise UserInputError(f"--steps {args.steps}: a walk has at least 2 pictures")
    model = load_trained_model(args.model_path)
    label, truncation = _checked_control(model, args.label, args.truncation)
    start, end = (sample_truncated_latents(1, model.latent_dim, seed, truncation)[0]
                  for seed in (args.from_seed, args.to_seed))
    path = slerp(start, end, args.steps)
    walk = f"slerp from seed {args.from_seed} to seed {args.to_seed}, {args.steps} steps"
    if args.to_label is None:
        # A walk keeps one class: --class, or the first.
        if label is None and model.num_classes:
            label = 0
        frames = model.generate_from_latents(path, labels=label)
    else:
        to_label, _ = _checked_control(model, args.to_label, None)
        if label is None:
            raise UserInputError("--to-class walks from the class of --class: give both")
        names = model.label_names
        first, last = (int(resolve_labels(c, 1, names)[0]) for c in (label, to_label))
        if model.num_classes:
            frames = model.generate_from_latents(
                path, class_weights=class_walk(first, last, args.steps, model.num_classes))
        else:  # latent-coded classes: the great circle between the two classes' latents
            ends = latents_in_classes(np.stack([start, end]), [first, last],
                                      model.latent_class_shares)
            frames = model.generate_from_latents(slerp(ends[0], ends[1], args.steps))
        walk += f", class {names[first]} to {names[last]}"
    frames = imaging.to_uint8(frames)
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


def _load_vae(path):
    """A VAE to vary or reconstruct with: a Keras model (run folder, .keras) or, for an
    exported version folder, the onnxruntime `Generator` (no TensorFlow)."""
    from keras_genart.export.metadata import METADATA_FILE

    if os.path.isfile(os.path.join(path, METADATA_FILE)):
        from keras_genart.serving import Generator

        try:
            model = Generator(path)
        except (OSError, ValueError) as error:
            raise UserInputError(f"{path}: {error}") from None
        model_type = model.metadata["model_type"]
        if model_type == "vae" and model.encoder_session is None:
            raise UserInputError(f"{path} has no encoder.onnx (exported without ONNX, or by "
                                 "an older keras_genart): export the VAE again")
    else:
        _quiet_tensorflow()
        from keras_genart.runs import load_trained_model

        model = load_trained_model(path)
        model_type = model.model_type
    if model_type != "vae":
        raise UserInputError(f"{path} is a {model_type}: variations and reconstructions "
                             "need an encoder, which only the vae has")
    return model


def _as_uint8(pictures):
    import numpy as np

    from keras_genart import imaging

    pictures = np.asarray(pictures)
    return pictures if pictures.dtype == "uint8" else imaging.to_uint8(pictures)


def _picture_class(model, text, what="--class"):
    from keras_genart.latents import label_from_text, resolve_labels

    if text is None:
        if model.class_names:
            raise UserInputError(f"this VAE is conditional: say which class the picture is "
                                 f"with {what} (one of {', '.join(model.class_names)})")
        return None
    label = label_from_text(text, model.class_names)
    try:
        resolve_labels(label, 1, model.class_names)
    except ValueError as error:
        raise UserInputError(f"{what}: {error}") from None
    return label


def cmd_vary(args):
    import numpy as np

    from keras_genart import imaging
    from keras_genart.latents import VARIATION_RECIPE, check_spread

    try:
        check_spread(args.spread)
    except ValueError as error:
        raise UserInputError(f"--spread: {error}") from None
    model = _load_vae(args.model_path)
    label = _picture_class(model, args.label)
    to_label = None if args.to_label is None else _picture_class(model, args.to_label,
                                                                 "--to-class")
    try:
        picture = imaging.load_picture(args.image, model.image_size, model.channels)
    except ValueError as error:
        raise UserInputError(str(error)) from None
    variations = _as_uint8(model.vary(picture, n=args.n, seed=args.seed, spread=args.spread,
                                      label=label, to_label=to_label))
    provenance = {**imaging.provenance("vae", os.path.abspath(args.model_path), args.seed),
                  "keras_genart.source_picture": os.path.abspath(args.image),
                  "keras_genart.spread": str(args.spread),
                  "keras_genart.variation_recipe": VARIATION_RECIPE,
                  **imaging.control_provenance(model.class_names,
                                               label if to_label is None else to_label)}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    grid = imaging.make_grid(np.concatenate([picture[None], variations]),
                             cols=min(args.n + 1, 9))
    imaging.save_png(args.out, grid, {**provenance, "keras_genart.n": args.n})
    print(f"wrote {args.out} (the picture, then {args.n} variations, spread {args.spread}, "
          f"seed {args.seed})")
    return 0


def cmd_reconstruct(args):
    import numpy as np

    from keras_genart import imaging

    model = _load_vae(args.model_path)
    label = _picture_class(model, args.label)
    try:
        pictures = np.stack([imaging.load_picture(path, model.image_size, model.channels)
                             for path in args.images])
    except ValueError as error:
        raise UserInputError(str(error)) from None
    rebuilt = _as_uint8(model.reconstruct(pictures, label))
    pairs = np.stack([pictures, rebuilt], axis=1).reshape((-1,) + pictures.shape[1:])
    error = float(np.mean(np.abs(pictures.astype(np.float32) - rebuilt) / 255.0))
    provenance = {**imaging.provenance("vae", os.path.abspath(args.model_path), None),
                  **imaging.control_provenance(model.class_names, label),
                  "keras_genart.n": len(pictures)}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    imaging.save_png(args.out, imaging.make_grid(pairs, cols=2 * min(len(pictures), 4)),
                     provenance)
    print(f"wrote {args.out} ({len(pictures)} picture{'s' * (len(pictures) != 1)}, each "
          "beside its reconstruction; "
          f"mean absolute error {error:.4f} of the value range)")
    return 0


def cmd_export(args):
    from keras_genart.export import export_model

    export_model(args.model_path, args.out, name=args.name, version=args.version,
                 formats=args.formats, opset=args.opset, force=args.force)
    return 0


def cmd_serve(args):
    import socket

    from keras_genart.errors import require_modules

    require_modules("genart serve", ["onnxruntime", "fastapi", "uvicorn"],
                    "pip install keras_genart")
    from keras_genart.serving.runtime import find_versions
    from keras_genart.serving.server import serve

    if (args.model_root is None) == (args.model_config_file is None):
        raise UserInputError("give the folder of exported models (DIR) or "
                             "--model-config-file, one of the two")
    if args.model_config_file is not None:
        from keras_genart.serving.config import ConfigError, read_model_config

        if args.num_versions is not None or args.versions is not None:
            raise UserInputError("--num-versions and --versions apply to DIR; with "
                                 "--model-config-file, set model_version_policy in the file")
        try:
            configs = read_model_config(args.model_config_file)
        except ConfigError as e:
            raise UserInputError(str(e)) from None
        source = args.model_config_file
        models = [n for n, c in configs.items() if find_versions(c.base_path)]
        kwargs = dict(model_config_file=args.model_config_file,
                      config_poll_seconds=args.model_config_file_poll_wait_seconds)
    else:
        if not os.path.isdir(args.model_root):
            raise UserInputError(f"model folder '{args.model_root}' does not exist; pass the "
                                 "folder given to `genart export --out`")
        source = args.model_root
        models = [n for n in sorted(os.listdir(args.model_root))
                  if find_versions(os.path.join(args.model_root, n))]
        kwargs = dict(model_root=args.model_root, num_versions=args.num_versions or 1,
                      versions=args.versions)
    try:  # one clear line, not uvicorn's traceback, when the port is taken
        with socket.create_server((args.host, args.port)):
            pass
    except OSError as e:
        reason = os.strerror(e.errno) if e.errno else str(e)
        raise UserInputError(f"cannot listen on {args.host}:{args.port}: {reason}; "
                             "pass another --port (or stop what uses it)") from e
    if not models:
        print(f"warning: no exported model under {source} yet (expected "
              "NAME/VERSION/model.onnx from `genart export --out`); serving anyway, new "
              "versions are picked up as they appear", file=sys.stderr)
    print(f"serving {', '.join(models) or 'no models yet'} from {source} at "
          f"http://{args.host}:{args.port}/v1/models/")
    serve(host=args.host, port=args.port, max_batch=args.max_batch,
          max_body_bytes=args.max_body_bytes, threads=args.threads, **kwargs)
    return 0


def _classifier_for(spec, builtin, real_classes):
    """The classifier of the classes metric, and the real pictures' labels in its classes."""
    import numpy as np

    from keras_genart.metrics.classifier import get_classifier

    if spec is None and not builtin:
        raise UserInputError("the classes metric needs --classifier MODEL.keras for data that "
                             "is not builtin: (the style classifier knows the built-in styles "
                             "only)")
    names = real_classes[1] if real_classes else None
    classifier = get_classifier(spec or "style", names)
    if real_classes is None:
        return classifier, None
    labels, names = real_classes
    if not set(names) <= set(classifier.class_names):
        return classifier, None  # the data's classes are not the classifier's: no accuracy
    index = {n: i for i, n in enumerate(classifier.class_names)}
    return classifier, np.array([index[names[k]] for k in labels])


def cmd_evaluate(args):
    from keras_genart import imaging
    from keras_genart.metrics.features import get_extractor
    from keras_genart.metrics.report import evaluate, report_picture
    from keras_genart.metrics.sources import generated_pictures, real_pictures

    print("making the pictures to judge ...")
    generated, made_by = generated_pictures(args.model_path, args.generated, n=args.n,
                                            seed=args.seed, image_size=args.image_size)
    real, train, real_info, real_classes = real_pictures(
        args.data, generated.shape[1], min(args.n, len(generated)) if args.generated else args.n,
        seed=args.seed, tfds_data_dir=args.tfds_data_dir)
    metrics = args.metrics
    builtin = args.data.startswith("builtin:")
    if metrics is None:
        metrics = list(FEATURE_METRICS) + (["classes"] if builtin or args.classifier else [])
    classifier, real_labels = None, None
    if "classes" in metrics:
        classifier, real_labels = _classifier_for(args.classifier, builtin, real_classes)
    extractor = None
    if set(metrics) - {"classes"}:
        extractor = get_extractor(args.features, weights=args.feature_weights, seed=0)
    print(f"scoring {len(generated)} generated against {len(real)} real pictures "
          f"({extractor.identity['name'] if extractor else 'no'} features"
          f"{', classes' if classifier else ''}):")
    report, extras = evaluate(generated, real, extractor, metrics=metrics, train=train,
                              seed=args.seed, log=print, classifier=classifier,
                              real_labels=real_labels)
    report["generated"], report["real"] = made_by, real_info
    report["keras_genart"] = __version__
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    imaging.atomic_write_bytes(args.out, (json.dumps(report, indent=2) + "\n").encode())
    picture = os.path.splitext(args.out)[0] + ".png"
    imaging.save_png(picture, report_picture(generated, real, extras),
                     {"Software": f"keras_genart {__version__}",
                      "keras_genart.report": os.path.abspath(args.out)})
    scores = report["scores"]
    shown = {k: round(v, 4) for k, v in scores.items() if isinstance(v, float)}
    print(f"scores: {shown}")
    if "class_share" in scores:
        print("class share (generated / real): " + ", ".join(
            f"{name} {share:.3f}/{scores['real_class_share'][name]:.3f}"
            for name, share in scores["class_share"].items()))
    print(f"wrote {args.out} and {picture}")
    return 0


def cmd_demo(args):
    from keras_genart.config import run_preset
    from keras_genart.runs import train

    config = run_preset("demo", epochs=args.epochs, run_dir=args.run_dir,
                        verbose=1 if sys.stdout.isatty() else 2)
    print(f"demo: training a DCGAN that learns the styles through its latents on "
          f"{config.data.source} ({config.fit.epochs} epochs of "
          f"{config.fit.steps_per_epoch} steps, {config.model.image_size} px) into "
          f"{config.run_dir}")
    train(config)
    write_samples(config.run_dir, None, 0, args.out, per_class=DEMO_PER_CLASS)
    return 0


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "interpolate": cmd_interpolate,
            "vary": cmd_vary, "reconstruct": cmd_reconstruct, "export": cmd_export,
            "serve": cmd_serve, "evaluate": cmd_evaluate, "demo": cmd_demo}


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        os.environ["GENART_VERBOSE"] = "1"
    if not _verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        if args.command in ("sample", "interpolate", "export", "evaluate", "demo"):
            _quiet_tensorflow()
        return COMMANDS[args.command](args)
    except UserInputError as e:
        print(f"genart {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ngenart {args.command}: interrupted; run the same command again to "
              "resume from the last completed epoch", file=sys.stderr)
        return 130
    except Exception as e:
        if isinstance(e, (NonFiniteLossError, ExportError)):
            print(f"genart {args.command}: {e}", file=sys.stderr)
            return 3
        raise


if __name__ == "__main__":
    sys.exit(main())
