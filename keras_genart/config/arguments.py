"""`genart train`'s flags, made from the fields of `TrainConfig`."""

import argparse
import dataclasses

from keras_genart.config.fields import GROUPS, TrainConfig, _fields, _flat_names

# ---------------------------------------------------------------------------------------
# `genart train`'s flags, made from the fields.

def _cli_text(value):
    """A default as the command line writes it (argparse parses text defaults too)."""
    if isinstance(value, list):
        return ",".join(value) or "none"
    if value is None:
        return None
    return value


def argparse_type(kind):
    """An argparse `type` of a kind of `keras_genart.config.kinds`: the same check and
    message on the command line as in Python."""
    def parse(text):
        try:
            return kind(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = getattr(kind, "__name__", "value")
    return parse


def add_arguments(parser):
    """Adds a flag (or positional) for every setting of `TrainConfig` to `parser`."""
    def add(f, dest):
        meta = f.metadata
        if not meta["cli"]:
            return
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if meta["store_true"]:
            parser.add_argument(meta["flag"] or "--" + f.name.replace("_", "-"), dest=dest,
                                action="store_true", help=meta["help"])
            return
        choices = getattr(meta["kind"], "choices", None)
        options = dict(help=meta["help"], type=argparse_type(meta["kind"]))
        if choices is not None:
            options.update(choices=choices, type=None)
        if meta["positional"]:
            parser.add_argument(dest, **options)
            return
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        options.update(default=_cli_text(default), dest=dest,
                       metavar=flag[2:].replace("-", "_").upper())
        for key in ("metavar", "nargs", "const"):
            if meta[key] is not None:
                options[key] = meta[key]
        if choices is not None:
            del options["metavar"]  # argparse shows the choices
        parser.add_argument(flag, **options)

    for group, cls in GROUPS.items():
        for f in _fields(cls):
            add(f, f"{group}.{f.name}")
    for f in _fields(TrainConfig):
        add(f, f.name)


def from_arguments(args, **overrides):
    """The `TrainConfig` of parsed `add_arguments` flags (`overrides`: flat settings
    that no flag sets, such as `verbose`)."""
    values = vars(args)
    flat = {}
    for key, (group, field) in _flat_names().items():
        dest = f"{group}.{field}" if group else field
        if dest in values:
            flat[key] = values[dest]
    return TrainConfig.from_flat(**{**flat, **overrides})
