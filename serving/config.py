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
not follow this shape gets a `ConfigError` that names the line.
"""

import os
import re
from dataclasses import dataclass, field

from keras_genart.export.metadata import NAME_PATTERN

_TOKEN = re.compile(r'\s+|#[^\n]*|(?P<str>"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\')'
                    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*|-?[0-9]+)|(?P<punct>[{}:])")
_LABEL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


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
            item = bytes(value2[1:-1], "utf-8").decode("unicode_escape")
        elif kind2 == "word":
            item = int(value2) if re.fullmatch(r"-?[0-9]+", value2) else value2
        else:
            raise ConfigError(f"line {line2}: expected a value or '{{' after {value!r}")
        message.setdefault(value, []).append((item, line))
    if closing is not None:
        raise ConfigError("the file ends inside a '{ ... }' block")
    return message


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


def parse_model_config(text, base_dir="."):
    """The models of a model config file's text: `{name: ModelConfig}`."""
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


def read_model_config(path):
    """`parse_model_config` of a file; relative base paths start at its folder."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read model config file '{path}': {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"model config file '{path}' is not UTF-8 text") from e
    try:
        return parse_model_config(text, os.path.dirname(os.path.abspath(path)))
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
