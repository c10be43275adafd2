"""What the commands share: argparse types that say what they accept, and the help
formatter that shows every option's default.

Imports nothing heavy, so that `genart --help` and a mistake in a flag answer at once.
"""

import argparse

from keras_genart.config import kinds
from keras_genart.config.arguments import argparse_type
from keras_genart.errors import UserInputError
from keras_genart.contract import VERSION_PATTERN
from keras_genart.options import check_metrics


# The kinds of `keras_genart.config`, as argparse types: one check and one message for a
# value, whether it comes from a flag or from Python.
positive_int = argparse_type(kinds.positive_int)
non_negative_int = argparse_type(kinds.non_negative_int)
image_size = argparse_type(kinds.image_size)
port = argparse_type(kinds.checked(kinds.to_int, lambda v: 1 <= v <= 65535,
                                   "a port number from 1 to 65535"))


def metric_list(text):
    try:
        return check_metrics(n.strip() for n in text.split(",") if n.strip())
    except UserInputError as e:
        raise argparse.ArgumentTypeError(f"{e} (comma-separated)") from e


def formats(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in ("savedmodel", "onnx")]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown format {', '.join(bad) or '(none)'}; choose savedmodel, onnx or both")
    return names


def version_list(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if not (VERSION_PATTERN.fullmatch(n) and int(n) > 0)]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"versions must be positive integers separated by commas, got {text!r}")
    return [int(n) for n in names]


class HelpFormatter(argparse.HelpFormatter):
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


def add_command(sub, name, command, **kwargs):
    """A subcommand's parser that runs `command(args)`, with the shared help formatter.

    Args:
        sub: the parent's `add_subparsers()` action.
        name: str. The command's name.
        command: callable. Runs the command with the parsed arguments; returns
            the exit status.
        **kwargs: `add_parser`'s (help, description, ...).
    """
    parser = sub.add_parser(name, formatter_class=HelpFormatter, **kwargs)
    parser.set_defaults(run=command)
    return parser
