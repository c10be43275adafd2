"""`genart`: train, sample, export, serve and evaluate from the command line.

Thin on purpose: parse, check what can be checked without a backend, call the
library. One module per command group (`train`: train and demo; `pictures`:
sample, interpolate, vary, reconstruct; `export`; `serve`; `evaluate`; `prepare`) and the
argparse types they share (`arguments`). Heavy imports (TensorFlow, Keras)
happen inside the commands after their checks, so `genart --help` and a
mistake answer at once.
"""

import argparse
import os
import sys

from keras_genart._version import __version__
from keras_genart.cli import evaluate, export, pictures, prepare, serve, train
from keras_genart.cli.pictures import write_samples
from keras_genart.errors import ExportError, NonFiniteLossError, UserInputError

__all__ = ["build_parser", "main", "write_samples"]


def build_parser():
    """The `genart` argument parser, every command's options with their defaults."""
    parser = argparse.ArgumentParser(
        prog="genart", description="Train generative art models with Keras and sample them.")
    parser.add_argument("--version", action="version", version=f"keras_genart {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="keep TensorFlow's start-up and C++ log lines (also "
                        "GENART_VERBOSE=1)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train.add_train_command(sub)
    pictures.add_commands(sub)
    export.add_commands(sub)
    serve.add_commands(sub)
    evaluate.add_commands(sub)
    prepare.add_commands(sub)
    train.add_demo_command(sub)
    return parser


def main(argv=None):
    """Runs `genart` with `argv` (default: the command line); returns the exit status:
    0, 2 for a user's mistake (one line on stderr), 3 for a non-finite loss or an
    export that does not reproduce the model, 130 when interrupted."""
    from keras_genart._quiet import verbose

    args = build_parser().parse_args(argv)
    if args.verbose:
        os.environ["GENART_VERBOSE"] = "1"
    if not verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        return args.run(args)
    except UserInputError as e:
        print(f"genart {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ngenart {args.command}: interrupted; run the same command again to "
              "resume from the last completed epoch", file=sys.stderr)
        return 130
    except (NonFiniteLossError, ExportError) as e:
        print(f"genart {args.command}: {e}", file=sys.stderr)
        return 3
