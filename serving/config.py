"""TF Serving's model config file (`--model_config_file`), the part `genart serve` uses.

The file is protobuf text format:

    model_config_list {
      config {
        name: "dcgan"
        base_path: "/models/dcgan"        # relative paths: from the file's folder
        model_platform: "tensorflow"
        model_version_policy { latest { num_versions: 2 } }   # or specific { versions: 1 }, all {}
        version_labels { key: "stable" value: 1 }
      }
    }

`parse_model_config(text, base_dir)` returns `{name: ModelConfig}`; a file that does
not follow this shape gets a `ConfigError` that names the line. Strings are UTF-8 and
take protobuf text format's escapes (`"mod\\303\\250le"` is "modèle"), and
`read_model_config` refuses a base path that is not a folder.
"""

import os
import re
from dataclasses import dataclass, field

from keras_genart.contract import NAME_PATTERN

_TOKEN = re.compile(r'\s+|#[^\n]*|(?P<str>"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\')'
                    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*|-?[0-9]+)|(?P<punct>[{}:])")
_LABEL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Protobuf text format's escapes in a quoted string, as TF Serving's C++ tokenizer reads
# them: octal and hex escapes are bytes (of the UTF-8 text), \u and \U code points.
_ESCAPE = re.compile(r"\\(?:(?P<octal>[0-7]{1,3})|x(?P<hex>[0-9A-Fa-f]{1,2})"
                     r"|u(?P<pair>[Dd][89ABab][0-9A-Fa-f]{2}\\u[Dd][C-Fc-f][0-9A-Fa-f]{2})"
                     r"|u(?P<u>[0-9A-Fa-f]{4})|U(?P<U>[0-9A-Fa-f]{8})|(?P<char>.))", re.S)
_SIMPLE_ESCAPES = {"a": b"\a", "b": b"\b", "f": b"\f", "n": b"\n", "r": b"\r", "t": b"\t",
                   "v": b"\v", "\\": b"\\", "?": b"?", "'": b"'", '"': b'"'}


class ConfigError(ValueError):
    """A model config file that cannot be used; the message names the line."""


@dataclass
class ModelConfig:
    name: str
    base_path: str
    num_versions: int = 1          # the latest N (TF Serving's default policy: latest 1)
    specific: list = None          # or these versions only
    all_versions: bool = False     # or every version present
    labels: dict = field(default_factory=dict)  # label -> version

    def policy(self):
        if self.all_versions:
            return "all versions"
        if self.specific is not None:
            return f"specific versions {', '.join(map(str, self.specific))}"
        return f"the latest {self.num_versions}" if self.num_versions > 1 else "the latest"

    def select(self, versions):
        """The versions present (sorted ints) that the policy serves."""
        if self.all_versions:
            return list(versions)
        if self.specific is not None:
            return [v for v in versions if v in self.specific]
        return list(versions)[-self.num_versions:]


def _tokens(text):
    line, pos = 1, 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ConfigError(f"line {line}: cannot read {text[pos:pos + 20]!r}")
        kind = match.lastgroup
        if kind:
            yield kind, match.group(kind), line
        line += match.group(0).count("\n")
        pos = match.end()


def _parse_message(tokens, closing):
    """`{field: [values]}` until `closing` ('}' or None for the end of the file)."""
    message = {}
    for kind, value, line in tokens:
        if kind == "punct" and value == "}":
            if closing is None:
                raise ConfigError(f"line {line}: '}}' without a matching '{{'")
            return message
        if kind != "word":
            raise ConfigError(f"line {line}: expected a field name, got {value!r}")
        kind2, value2, line2 = next(tokens, (None, None, line))
        if kind2 == "punct" and value2 == ":":
            kind2, value2, line2 = next(tokens, (None, None, line))
        if kind2 == "punct" and value2 == "{":
            item = _parse_message(tokens, "}")
        elif kind2 == "str":
            item = _unquote(value2, line2)
        elif kind2 == "word":
            item = int(value2) if re.fullmatch(r"-?[0-9]+", value2) else value2
        else:
            raise ConfigError(f"line {line2}: expected a value or '{{' after {value!r}")
        message.setdefault(value, []).append((item, line))
    if closing is not None:
        raise ConfigError("the file ends inside a '{ ... }' block")
    return message


def _unquote(literal, line):
    """The text of a quoted string of the file, its escapes read as protobuf text format
    reads them (`unicode_escape` would take each byte of "è" for a character)."""
    body, text, pos = literal[1:-1], bytearray(), 0
    for match in _ESCAPE.finditer(body):
        text += body[pos:match.start()].encode("utf-8")
        pos = match.end()
        kind, value = next((k, v) for k, v in match.groupdict().items() if v is not None)
        if kind == "octal" and int(value, 8) > 0o377:
            raise ConfigError(f"line {line}: the escape '{match.group(0)}' is over \\377 "
                              "(octal escapes are bytes)")
        if kind in ("octal", "hex"):
            text.append(int(value, 8 if kind == "octal" else 16))
        elif kind == "char":
            if value not in _SIMPLE_ESCAPES:
                raise ConfigError(
                    f"line {line}: unknown escape '{match.group(0)}' in {literal}; known: "
                    "\\n \\t \\r \\a \\b \\f \\v \\\\ \\' \\\" \\?, \\NNN (octal), \\xHH, "
                    "\\uHHHH, \\UHHHHHHHH")
            text += _SIMPLE_ESCAPES[value]
        else:
            text += _code_point(kind, value, match.group(0), line).encode("utf-8")
    text += body[pos:].encode("utf-8")
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"line {line}: the string {literal} is not UTF-8 once its escapes "
                          "are read") from None


def _code_point(kind, value, escape, line):
    """The character of a \\u or \\U escape (or of a \\u surrogate pair)."""
    if kind == "pair":
        high, low = int(value[:4], 16), int(value[6:], 16)
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    code = int(value, 16)
    if 0xD800 <= code <= 0xDFFF:
        raise ConfigError(f"line {line}: '{escape}' is half of a surrogate pair; write the "
                          "character itself, or both halves")
    if code > 0x10FFFF:
        raise ConfigError(f"line {line}: '{escape}' is not a Unicode character (at most "
                          "\\U0010FFFF)")
    return chr(code)


def _one(message, key, kind, line, required=False, default=None):
    values = message.get(key, [])
    if len(values) > 1:
        raise ConfigError(f"line {values[1][1]}: {key!r} given twice")
    if not values:
        if required:
            raise ConfigError(f"line {line}: the block needs {key!r}")
        return default
    value, at = values[0]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ConfigError(f"line {at}: {key!r} must be a "
                          f"{ {str: 'quoted string', int: 'number', dict: '{ ... } block'}[kind]}")
    return value


def _check_fields(message, allowed, where, line):
    unknown = sorted(set(message) - set(allowed))
    if unknown:
        at = message[unknown[0]][0][1]
        raise ConfigError(f"line {at}: unknown field {unknown[0]!r} in {where} (known: "
                          f"{', '.join(allowed)})")


def parse_model_config(text, base_dir=".", check_paths=False):
    """The models of a model config file's text: `{name: ModelConfig}`.

    Args:
        text: str. The file's text (protobuf text format).
        base_dir: str. Where relative base paths start. Defaults to ".".
        check_paths: bool. Refuse a base path that is not a folder (else the
            model would answer 404 with no word of why). Defaults to False.
    """
    top = _parse_message(_tokens(text), None)
    _check_fields(top, ["model_config_list"], "the file", 1)
    config_list = _one(top, "model_config_list", dict, 1, required=True)
    _check_fields(config_list, ["config"], "model_config_list", 1)
    models = {}
    for block, line in config_list.get("config", []):
        if not isinstance(block, dict):
            raise ConfigError(f"line {line}: 'config' must be a {{ ... }} block")
        _check_fields(block, ["name", "base_path", "model_platform", "model_version_policy",
                              "version_labels"], "config", line)
        name = _one(block, "name", str, line, required=True)
        if not NAME_PATTERN.match(name) or name in (".", ".."):
            raise ConfigError(f"line {line}: model name {name!r} is not allowed (letters, "
                              "digits, '_', '-', '.')")
        if name in models:
            raise ConfigError(f"line {line}: model {name!r} is configured twice")
        base_path = _one(block, "base_path", str, line, required=True)
        platform = _one(block, "model_platform", str, line, default="tensorflow")
        if platform != "tensorflow":
            raise ConfigError(f"line {line}: model_platform must be 'tensorflow', got "
                              f"{platform!r}")
        model = ModelConfig(name, os.path.normpath(os.path.join(base_dir, base_path)))
        if check_paths and not os.path.isdir(model.base_path):
            raise ConfigError(
                f"line {line}: base_path '{model.base_path}' of model {name!r} "
                f"{'is not a folder' if os.path.exists(model.base_path) else 'does not exist'}"
                "; give the folder that holds the model's version folders (`genart export "
                "--out`'s OUT/NAME)")
        policy = _one(block, "model_version_policy", dict, line)
        if policy is not None:
            _check_fields(policy, ["latest", "specific", "all"], "model_version_policy", line)
            if len(policy) != 1:
                raise ConfigError(f"line {line}: model_version_policy needs exactly one of "
                                  "latest, specific, all")
            kind = next(iter(policy))
            at = policy[kind][0][1]
            value = _one(policy, kind, dict, at)
            if kind == "latest":
                _check_fields(value, ["num_versions"], "latest", at)
                model.num_versions = _one(value, "num_versions", int, at, default=1)
                if model.num_versions < 1:
                    raise ConfigError(f"line {at}: num_versions must be at least 1")
            elif kind == "specific":
                _check_fields(value, ["versions"], "specific", at)
                versions = [v for v, _ in value.get("versions", [])]
                if not versions or not all(isinstance(v, int) and v > 0 for v in versions):
                    raise ConfigError(f"line {at}: specific needs versions: N (positive "
                                      "numbers)")
                model.specific = sorted(set(versions))
            else:
                _check_fields(value, [], "all", at)
                model.all_versions = True
        for label_block, at in block.get("version_labels", []):
            if not isinstance(label_block, dict):
                raise ConfigError(f"line {at}: version_labels must be a {{ key: ... value: ... }} "
                                  "block")
            _check_fields(label_block, ["key", "value"], "version_labels", at)
            key = _one(label_block, "key", str, at, required=True)
            value = _one(label_block, "value", int, at, required=True)
            if not _LABEL.match(key) or key.isdigit():
                raise ConfigError(f"line {at}: label {key!r} is not allowed (letters, digits, "
                                  "'_', '-', '.', not a number)")
            if key in model.labels:
                raise ConfigError(f"line {at}: label {key!r} given twice for {name!r}")
            model.labels[key] = value
        models[name] = model
    if not models:
        raise ConfigError("the file configures no model (model_config_list { config { ... } })")
    return models


def read_model_config(path, check_paths=True):
    """`parse_model_config` of a file; relative base paths start at its folder.

    Args:
        path: str. The model config file.
        check_paths: bool. Refuse a base path that is not a folder. Defaults to True.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read model config file '{path}': {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"model config file '{path}' is not UTF-8 text") from e
    try:
        return parse_model_config(text, os.path.dirname(os.path.abspath(path)), check_paths)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
