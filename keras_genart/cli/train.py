"""`genart train` and `genart demo`: a run folder from a config.

The train flags are made from the fields of `keras_genart.config.TrainConfig`: a new
setting is a field there, not a line here.
"""

import json
import os
import sys

from keras_genart.backend import SUPPORTED_BACKENDS
from keras_genart.cli.arguments import add_command, positive_int
from keras_genart.config import RUN_PRESETS
from keras_genart.errors import UserInputError

# The demo is a named run preset (`keras_genart.config.RUN_PRESETS["demo"]`).
DEMO_PER_CLASS = 8


def add_train_arguments(parser):
    """`genart train`'s arguments: one per setting of `keras_genart.config.TrainConfig`,
    made from its fields, and the command's own --backend, --quiet and --dry-run."""
    from keras_genart.config import add_arguments

    add_arguments(parser)
    parser.add_argument("--backend", choices=SUPPORTED_BACKENDS, default=None,
                        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the resolved config (what every auto means on this "
                             "data) and exit")


def train_config_from_args(args):
    """The `TrainConfig` of parsed `genart train` arguments."""
    from keras_genart.config import from_arguments

    # A progress bar on a terminal; one line per epoch in a log file (the bar's \r
    # updates made megabytes of it).
    return from_arguments(args, verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2))


def resolved_json(config):
    """The resolved config as JSON: what the run would train, decided on its data."""
    from keras_genart import config as settings
    from keras_genart.data.sources import load_images

    data = load_images(config.data.source, image_size=config.model.image_size,
                       seed=config.seed, tfds_data_dir=config.data.tfds_data_dir)
    resolved = settings.resolve(config, data.class_names, data.grayscale)
    return json.dumps(resolved.to_dict(), indent=2)


def select_backend(name):
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

    config = train_config_from_args(args)
    select_backend(args.backend)
    check_data_exists(config)  # before any backend loads: a mistake is reported at once
    if args.dry_run:
        print(resolved_json(config))
        return 0
    from keras_genart._quiet import quiet_tensorflow

    quiet_tensorflow()
    from keras_genart.runs import train

    train(config)
    return 0


def cmd_demo(args):
    from keras_genart._quiet import quiet_tensorflow
    from keras_genart.cli.pictures import write_samples

    quiet_tensorflow()
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


def add_train_command(sub):
    add_train_arguments(add_command(
        sub, "train", cmd_train, help="train a model (resumes an unfinished run folder)"))


def add_demo_command(sub):
    demo_preset = RUN_PRESETS["demo"]
    demo = add_command(sub, "demo", cmd_demo,
                       help="train the default DCGAN on the five built-in styles "
                            f"({demo_preset['data']}), write artwork.png (a row per style)")
    demo.add_argument("--epochs", type=positive_int, default=demo_preset["epochs"],
                      help=f"epochs of {demo_preset['steps_per_epoch']} steps")
    demo.add_argument("--run-dir", default=demo_preset["run_dir"], help="run folder")
    demo.add_argument("--out", default="artwork.png",
                      help=f"grid PNG: {DEMO_PER_CLASS} pictures of each style, a row per style")
