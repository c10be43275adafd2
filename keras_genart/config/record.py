"""config.json: what the user asked and what it resolved to, with migrations of older runs,
and the comparison that decides whether a run may be resumed."""

import dataclasses

from keras_genart.config.fields import (GROUPS, TrainConfig, _fields, _flat_names,
                                        from_leaves)
from keras_genart.config.resolve import resolve
from keras_genart.errors import UserInputError

# config.json's layout: 1 held the flat settings as asked ("config"); 2 holds them
# nested, as asked ("asked") and as resolved ("resolved").
CONFIG_VERSION = 2

# Settings added after version-1 runs were made, with the value that such runs had.
ADDED_SETTINGS = {"ema": None, "r1": 0.0, "r1_interval": 16, "upsampling": "transpose",
                  "shared_fakes": False, "d_final_size": 4, "conditional": False,
                  "balance_classes": False, "latent_classes": False, "colors": "rgb"}


def run_record(asked, resolved, **extras):
    """The payload of a run's `config.json` (version `CONFIG_VERSION`)."""
    return {"config_version": CONFIG_VERSION, "asked": asked.to_dict(),
            "resolved": resolved.to_dict(), **extras}


@dataclasses.dataclass
class SavedRun:
    """A run's `config.json`, read and migrated to the current version.

    Attributes:
        asked: `TrainConfig`. The settings as asked (a setting the run's version did not
            have is taken as asked by today's default).
        resolved: `TrainConfig` or None. What they meant; None for a version-1 run,
            whose meaning `resolved_with` finds from its data.
        extras: dict. The rest of the file (class names, data summary, ...).
        _then: dict. A version-1 run's settings that its version did not have, with
            the values such runs had (`ADDED_SETTINGS`).
    """

    asked: TrainConfig
    resolved: object
    extras: dict
    _then: dict = dataclasses.field(default_factory=dict)

    def resolved_with(self, classes=None, grayscale=False):
        """The run's resolved settings (a version-1 run's resolved with its data)."""
        if self.resolved is not None:
            return self.resolved
        flat = {**self.asked.flat(), **self._then}
        return resolve(TrainConfig.from_flat(**flat), classes, grayscale)


def read_run_config(payload):
    """`SavedRun` of a `config.json` payload of any version."""
    version = payload.get("config_version", 1)
    extras = {k: v for k, v in payload.items() if k not in ("config", "asked", "resolved")}
    if version == 1:
        saved = dict(payload.get("config", {}))
        known = _flat_names()
        saved = {k: v for k, v in saved.items() if k in known}
        then = {k: v for k, v in ADDED_SETTINGS.items() if k not in saved}
        return SavedRun(TrainConfig.from_flat(**saved), None, extras, then)
    if version > CONFIG_VERSION:
        raise UserInputError(f"config.json version {version} is newer than this keras_genart "
                             f"reads ({CONFIG_VERSION}); update keras_genart")
    return SavedRun(TrainConfig.from_dict(payload["asked"]),
                    TrainConfig.from_dict(payload["resolved"]), extras)


def training_config(payload):
    """The settings a run trained with, nested (resolved where the run's config.json
    says), from a `config.json` payload of any version; {} for none (an export's
    `training_config`)."""
    if not payload:
        return {}
    saved = read_run_config(payload)
    return (saved.resolved or saved.asked).to_dict()


def _leaves(config):
    """`{(group or None, field): (value, resumable)}` of a `TrainConfig`."""
    leaves = {}
    for group, cls in GROUPS.items():
        for f in _fields(cls):
            leaves[(group, f.name)] = (getattr(getattr(config, group), f.name),
                                       f.metadata["resumable"])
    for f in _fields(TrainConfig):
        leaves[(None, f.name)] = (getattr(config, f.name), f.metadata["resumable"])
    return leaves


def resume_settings(saved, asked, classes=None, grayscale=False):
    """The resolved settings with which `asked` resumes the run `saved`.

    A setting asked as the run asked it keeps what it meant in the run (an `"auto"`
    whose meaning changed since, or a setting the run's version did not have, resumes
    as it was); any other setting must resolve to the run's value unless it may change
    on a resume (`resumable`).

    Raises:
        UserInputError: naming each setting that differs.
    """
    was = _leaves(saved.resolved_with(classes, grayscale))
    then = _leaves(saved.asked)
    now_asked = _leaves(asked)
    now = _leaves(resolve(asked, classes, grayscale))
    values = {}
    differences = []
    for key, (value, resumable) in now.items():
        if not resumable and now_asked[key][0] == then[key][0]:
            value = was[key][0]
        values[key] = value
        if not resumable and value != was[key][0]:
            differences.append(f"{key[1]}: {was[key][0]!r} in the run, {value!r} now")
    if differences:
        raise UserInputError(
            f"run folder '{asked.run_dir}' holds a run with other settings ("
            + "; ".join(differences) + "); pass a new --run-dir, or the same settings to "
            "resume it")
    return from_leaves(values)
