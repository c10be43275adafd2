"""What the commands share: argparse types that say what they accept, and the help
formatter that shows every option's default.

Imports nothing heavy, so that `genart --help` and a mistake in a flag answer at once.
"""

import argparse

from keras_genart.data.augment_names import AUGMENTATIONS
from keras_genart.errors import UserInputError
from keras_genart.export.metadata import VERSION_PATTERN
from keras_genart.metrics.names import check_metrics


def checked(convert, accept, expected):
    """An argparse type: `convert` the text, then require `accept(value)`.

    Args:
        convert: callable. Text to value; a ValueError means "not accepted".
        accept: callable. Value to bool.
        expected: str. What is accepted, for the message ("a positive integer").
    """
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


positive_int = checked(int, lambda v: v >= 1, "a positive integer")
non_negative_int = checked(int, lambda v: v >= 0, "a non-negative integer")
positive_float = checked(float, lambda v: v > 0, "a positive number")
unit_float = checked(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
decay = checked(float, lambda v: 0 < v < 1, "a decay in (0, 1), such as 0.999")
non_negative_float = checked(float, lambda v: v >= 0, "a number, 0 or more")
port = checked(int, lambda v: 1 <= v <= 65535, "a port number from 1 to 65535")


def image_size(text):
    value = positive_int(text)
    if value not in (16, 32, 64, 128):
        raise argparse.ArgumentTypeError(
            f"{text} is not supported; choose 16, 32, 64 or 128 (powers of two)")
    return value


def augment_list(text):
    if text in ("", "none"):
        return []
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in AUGMENTATIONS]
    if bad:
        raise argparse.ArgumentTypeError(
            f"unknown augmentation {', '.join(bad)}; choose from {', '.join(AUGMENTATIONS)} "
            "(comma-separated) or 'none'")
    return names


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


def bool_or_auto(text):
    if text.lower() == "auto":
        return "auto"
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected auto, true or false, got {text!r}")


def int_or_auto(text):
    if text.lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto or a whole number, got {text!r}") \
            from None


def ema(text):
    if text.lower() in ("auto", "none", "off"):
        return "auto" if text.lower() == "auto" else None
    try:
        return decay(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected auto, none or a decay in (0, 1) such as 0.999, got {text!r}") from None


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
