"""`genart evaluate`: generated pictures scored against real ones."""

import json
import os

from keras_genart._version import __version__
from keras_genart.cli.arguments import (add_command, image_size, metric_list,
                                        non_negative_int, positive_int)
from keras_genart.errors import UserInputError
from keras_genart.options import FEATURE_METRICS, METRICS


def _metrics(args):
    """The metrics to score; the classes metric's classifier checked before a backend
    loads."""
    builtin = args.data.startswith("builtin:")
    metrics = args.metrics
    if metrics is None:
        metrics = list(FEATURE_METRICS) + (["classes"] if builtin or args.classifier else [])
    if "classes" in metrics and args.classifier is None and not builtin:
        raise UserInputError("the classes metric needs --classifier MODEL.keras for data that "
                             "is not builtin: (the style classifier knows the built-in styles "
                             "only)")
    return metrics


def _check_data(source):
    """Refuses a --data source that cannot be read before a backend loads (its pictures
    are read after the generated ones, at their size)."""
    from keras_genart.data.image_folder import load_image_folder
    from keras_genart.data.sources import parse_source

    kind, _ = parse_source(source)
    if kind == "folder" and not os.path.isdir(source):
        load_image_folder(source, 32)  # raises its "does not exist" error, reading nothing


def _classifier_for(spec, real_classes):
    """The classifier of the classes metric, and the real pictures' labels in its classes."""
    import numpy as np

    from keras_genart.metrics.classifier import get_classifier

    names = real_classes[1] if real_classes else None
    classifier = get_classifier(spec or "style", names)
    if real_classes is None:
        return classifier, None
    labels, names = real_classes
    if not set(names) <= set(classifier.class_names):
        return classifier, None  # the data's classes are not the classifier's: no accuracy
    index = {n: i for i, n in enumerate(classifier.class_names)}
    return classifier, np.array([index[names[k]] for k in labels])


def _data_seed(artifact, seed):
    """The seed to draw `builtin:` data with, and where it comes from: the seed the model
    trained on (its run's config.json or its export's metadata.json), else --seed."""
    from keras_genart.artifacts import training_data_seed

    trained, where = (None, None) if artifact is None else training_data_seed(artifact)
    return (seed, "--seed") if trained is None else (trained, where)


def cmd_evaluate(args):
    from keras_genart._quiet import quiet_tensorflow
    from keras_genart.artifacts import find_generated, generated_pictures

    artifact = find_generated(args.model_path, args.generated)
    _check_data(args.data)
    data_seed, seed_from = _data_seed(artifact, args.seed)
    metrics = _metrics(args)
    quiet_tensorflow()
    from keras_genart import imaging
    from keras_genart.metrics.features import get_extractor
    from keras_genart.metrics.report import evaluate, report_picture
    from keras_genart.metrics.sources import real_pictures

    print("making the pictures to judge ...")
    generated, made_by = generated_pictures(artifact, args.generated, n=args.n,
                                            seed=args.seed, image_size=args.image_size)
    real, train, real_info, real_classes = real_pictures(
        args.data, generated.shape[1], min(args.n, len(generated)) if args.generated else args.n,
        seed=args.seed, tfds_data_dir=args.tfds_data_dir, data_seed=data_seed)
    if "seed" in real_info:  # builtin: data, drawn from a seed
        real_info["seed_from"] = seed_from
        print(f"real pictures: {args.data} drawn with seed {real_info['seed']} ({seed_from})")
    classifier, real_labels = None, None
    if "classes" in metrics:
        classifier, real_labels = _classifier_for(args.classifier, real_classes)
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


def add_commands(sub):
    """`evaluate`."""
    evaluate = add_command(
        sub, "evaluate", cmd_evaluate,
        help="score generated pictures against real ones (FID, KID, PR, DC, novelty, classes)")
    evaluate.add_argument("model_path", nargs="?", default=None,
                          metavar="RUN_DIR|MODEL.keras|EXPORTED_VERSION",
                          help="what makes the pictures (or give --generated)")
    evaluate.add_argument("--generated", default=None, metavar="FOLDER",
                          help="a folder of pictures made by any tool, instead of a model "
                          "(default: none)")
    evaluate.add_argument("--data", required=True,
                          help="the real (training) pictures: folder, builtin:NAME or tfds:NAME")
    evaluate.add_argument("--n", type=positive_int, default=5000,
                          help="pictures generated, and real pictures compared with")
    evaluate.add_argument("--image-size", type=image_size, default=None,
                          help="size of --generated pictures (default: 32; models use theirs)")
    evaluate.add_argument("--features", default="random",
                          help="feature extractor: random, inception, classifier (the built-in "
                          "style classifier) or a .keras file")
    evaluate.add_argument("--feature-weights", default=None, metavar="PATH",
                          help="InceptionV3 no-top weights, or the classifier's .npz (default: "
                          "Keras' cache for inception, the shipped file for classifier)")
    evaluate.add_argument("--metrics", type=metric_list, default=None,
                          help="comma-separated, from " + ", ".join(METRICS) + " (default: all "
                          "but classes; classes too for builtin: data or with --classifier)")
    evaluate.add_argument("--classifier", default=None, metavar="style|MODEL.keras",
                          help="for the classes metric: the built-in style classifier, or a "
                          ".keras model giving the data's class scores (default: style for "
                          "builtin: data)")
    evaluate.add_argument("--seed", type=non_negative_int, default=0,
                          help="latents, real-picture subset and KID subsets (builtin: data "
                          "is drawn with the seed the model trained on, when its run or "
                          "export records it)")
    evaluate.add_argument("--tfds-data-dir", default=None,
                          help="folder where TFDS data sets were prepared "
                          "(default: TFDS' own, ~/tensorflow_datasets)")
    evaluate.add_argument("--out", default="report.json",
                          help="JSON report; the picture report goes beside it as .png")
