"""Kinds of setting values: one function per kind checks (and converts) a value given in
Python or as command-line text, so that `TrainConfig(...)` and `genart train` accept the
same values with the same message. Each raises ValueError naming what it expected."""

from keras_genart.data.augment_names import AUGMENTATIONS
from keras_genart.options import IMAGE_SIZES

AUTO = "auto"

def checked(convert, accept, expected):
    """A kind: `convert` a value (a ValueError means "not accepted"), then require
    `accept(result)`; `expected` says what is accepted ("a positive integer")."""
    def check(value):
        try:
            result = convert(value)
        except (TypeError, ValueError, OverflowError):
            result = None
        if result is None or not accept(result):
            raise ValueError(f"expected {expected}, got {value!r}")
        return result

    check.expected = expected
    return check


def to_int(value):
    """An int from an int, a whole float or text; None for a bool or a fraction."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    return int(value) if isinstance(value, str) else int(value.__index__())


def to_float(value):
    """A float from a number or text; None for a bool."""
    if isinstance(value, bool):
        return None
    return float(value)


positive_int = checked(to_int, lambda v: v >= 1, "a positive integer")
non_negative_int = checked(to_int, lambda v: v >= 0, "a non-negative integer")
positive_float = checked(to_float, lambda v: v > 0, "a positive number")
unit_float = checked(to_float, lambda v: 0 <= v < 1, "a number in [0, 1)")
decay = checked(to_float, lambda v: 0 < v < 1, "a decay in (0, 1), such as 0.999")
non_negative_float = checked(to_float, lambda v: v >= 0, "a number, 0 or more")


def image_size(value):
    """16, 32, 64 or 128."""
    side = positive_int(value)
    if side not in IMAGE_SIZES:
        raise ValueError(f"{value} is not supported; choose "
                         f"{', '.join(map(str, IMAGE_SIZES[:-1]))} or {IMAGE_SIZES[-1]} "
                         "(powers of two)")
    return side


def _is_auto(value):
    return isinstance(value, str) and value.lower() == AUTO


def _or_auto(kind):
    def check(value):
        if _is_auto(value):
            return AUTO
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"expected auto or {kind.expected}, got {value!r}") from None

    check.expected = f"auto or {kind.expected}"
    return check


def _optional(kind):
    """None (the text "none") or a value of `kind`."""
    def check(value):
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        return kind(value)

    check.expected = kind.expected
    return check


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def boolean(value):
    """True or False, or their usual words on the command line."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise ValueError(f"expected true or false, got {value!r}")


boolean.expected = "true or false"
bool_or_auto = _or_auto(boolean)


def jit_mode(value):
    """auto, true, false, or what auto resolves to where it is timed: fastest."""
    if isinstance(value, str) and value.lower() == "fastest":
        return "fastest"
    return bool_or_auto(value)


jit_mode.expected = bool_or_auto.expected


def _or_unused(kind):
    """`kind`, or Python's None: a GAN's setting that a resolved VAE does not use."""
    def check(value):
        return None if value is None else kind(value)

    check.expected = kind.expected
    if hasattr(kind, "choices"):
        check.choices = kind.choices
    return check


def ema_decay(value):
    """auto, none (off) or a decay in (0, 1)."""
    if _is_auto(value):
        return AUTO
    if value is None or (isinstance(value, str) and value.lower() in ("none", "off")):
        return None
    try:
        return decay(value)
    except ValueError:
        raise ValueError(f"expected auto, none or a decay in (0, 1) such as 0.999, got "
                         f"{value!r}") from None


def augment_list(value):
    """A list of augmentation names: a list, or comma-separated text ("none": none)."""
    if isinstance(value, str):
        value = [] if value.strip() in ("", "none") else [
            n.strip() for n in value.split(",") if n.strip()]
    names = list(value or [])
    bad = [n for n in names if n not in AUGMENTATIONS]
    if bad:
        raise ValueError(f"unknown augmentation {', '.join(map(str, bad))}; choose from "
                         f"{', '.join(AUGMENTATIONS)} (comma-separated) or 'none'")
    return names


def one_of(choices, auto=False):
    """A value among `choices` (or "auto")."""
    def check(value):
        if auto and _is_auto(value):
            return AUTO
        if value not in choices:
            raise ValueError(f"expected {'auto, ' if auto else ''}{', '.join(choices)}; got "
                             f"{value!r}")
        return value

    check.expected = ", ".join(((AUTO,) if auto else ()) + tuple(choices))
    check.choices = ((AUTO,) if auto else ()) + tuple(choices)
    return check


def text(value):
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty text, got {value!r}")
    return value


text.expected = "a non-empty text"
