"""The models `genart serve` serves: which versions each model's policy serves, and
loading, reloading and unloading them as their folders change."""

import logging
import os
import threading

from keras_genart.contract import NAME_PATTERN, VERSION_PATTERN
from keras_genart.serving.config import ConfigError, ModelConfig, read_model_config
from keras_genart.serving.memory import release_memory
from keras_genart.serving.requests import ApiError
from keras_genart.serving.runtime import Generator, find_versions

log = logging.getLogger("keras_genart.serving")

# A version's states in TF Serving's model status (ModelVersionStatus.State). UNLOADING
# never shows: a version leaves at once, and the requests still running on it finish
# on their own (they hold its Generator).
START, LOADING, AVAILABLE, END = "START", "LOADING", "AVAILABLE", "END"


class ModelRepository:
    """The models under a base folder (`ROOT/NAME/VERSION/`) or named by a model
    config file.

    `load_served` loads the versions each model's policy serves, as TF Serving
    does when models are configured (`create_app` calls it at start,
    `set_configs` at each config reload); versions that appear later load in
    the background when their model is asked for, and `version_status` says
    where each one stands (TF Serving's model status).

    Thread-safe. A version that fails to load (say, copied in by hand and not
    complete yet) is skipped for "latest" and retried when its files change.
    Each version loads under its own lock, so a request for a loaded version
    never waits for another version's load; and while a newer version loads,
    "latest" keeps answering from the newest version already loaded (as TF
    Serving does: a version serves once it is AVAILABLE).

    Args:
        root: str. The base folder, for every model in it; or None with `configs`.
        threads: int. onnxruntime threads per model.
        load: callable. `load(version_dir) -> Generator`.
        num_versions: int. Serve the latest this many versions of every model
            under `root`. Defaults to 1.
        versions: list of int. Serve these versions of every model under
            `root` instead. Defaults to None.
        configs: dict. `{name: serving.config.ModelConfig}` from a model config
            file (each model with its own base path, policy and labels).
    """

    def __init__(self, root=None, threads=None, load=None, num_versions=1, versions=None,
                 configs=None):
        self.root = None if root is None else os.fspath(root)
        if (self.root is None) == (configs is None):
            raise ValueError("give a model base folder or model configs, not both")
        self.threads = threads
        self._default = ModelConfig("", "", num_versions=int(num_versions))
        if versions is not None:
            self._default.specific = sorted({int(v) for v in versions})
            if not self._default.specific:
                raise ValueError("versions must name at least one version")
        elif int(num_versions) < 1:
            raise ValueError(f"num_versions must be at least 1, got {num_versions}")
        self._configs = configs
        self._new_generator = load or (lambda path: Generator(path, threads=self.threads))
        self._loaded = {}   # (name, version) -> (stamp, Generator)
        self._failed = {}   # (name, version) -> (stamp, message)
        self._loading = {}  # version folder -> Lock held while it loads
        self._ended = set()  # (name, version) unloaded since the policy left them out
        self._settling = set()  # models whose versions load in a background thread
        self._lock = threading.Lock()  # guards the above; never held during a load

    def set_configs(self, configs):
        """Serves the models of a (re)read model config file from now on: the
        versions of models that left it or moved are unloaded, and the versions
        of the new policies load (in this thread) before it returns."""
        with self._lock:
            old, self._configs = self._configs or {}, configs
            gone = {n for n, c in old.items()
                    if n not in configs or configs[n].base_path != c.base_path}
            unloaded = [self._loaded.pop(k) for k in list(self._loaded) if k[0] in gone]
            for key in [k for k in self._failed if k[0] in gone]:
                del self._failed[key]
            self._ended = {k for k in self._ended if k[0] not in gone}
        if unloaded:
            del unloaded
            release_memory()
        self.load_served()

    def load_served(self, names=None):
        """Loads, in this thread, the versions that each model's policy serves
        and that have not been tried (newest first), then unloads the versions
        the policies no longer serve. A version that fails to load is recorded
        (its status says why) and skipped.

        Args:
            names: list of str. These models only. Defaults to every model.
        """
        for name in self.model_names() if names is None else names:
            try:
                self._settle(name)
            except ApiError:
                pass  # the model left the config file meanwhile

    def _config(self, name):
        if self._configs is not None:
            config = self._configs.get(name)
            if config is None:
                raise ApiError(404, f"Servable not found for request: Latest({name}); no model "
                                    f"named {name!r} in the model config file")
            return config
        if not NAME_PATTERN.match(name) or name in (".", ".."):
            raise ApiError(404, f"Servable not found for request: model name {name!r} is "
                                "not valid")
        default = self._default
        return type(default)(name, os.path.join(self.root, name), default.num_versions,
                             default.specific)

    def model_names(self):
        if self._configs is not None:
            names = list(self._configs)
        else:
            names = [n for n in os.listdir(self.root) if NAME_PATTERN.match(n)]
        return sorted(n for n in names if find_versions(self._config(n).base_path))

    def _model_dir(self, name):
        return self._config(name).base_path

    def version_path(self, name, version):
        """The folder of a version of a model."""
        return os.path.join(self._model_dir(name), str(version))

    def versions(self, name):
        versions = find_versions(self._model_dir(name))
        if not versions:
            raise ApiError(404, f"Servable not found for request: Latest({name}); "
                                f"no model named {name!r} under the model base path")
        return versions

    def policy(self, name=None):
        """The version policy in words, for error messages."""
        return (self._default if name is None else self._config(name)).policy()

    def served_versions(self, name):
        """The versions present that the version policy serves (TF Serving's
        `model_version_policy`: the latest N, specific ones, or all)."""
        return self._config(name).select(self.versions(name))

    def labels(self, name):
        """`{label: version}` of a model (model config file's `version_labels`)."""
        return dict(self._config(name).labels)

    def label_version(self, name, label):
        """The version a model config file's `version_labels` gives `label`."""
        config = self._config(name)
        if label not in config.labels:
            known = ", ".join(sorted(config.labels)) or "none"
            raise ApiError(404, f"Servable not found for request: label {label!r} of model "
                                f"{name!r} is not defined (labels: {known})")
        return str(config.labels[label])

    def _stamp(self, path):
        """Changes whenever the files a Generator reads change."""
        return tuple(file_stamp(os.path.join(path, name))
                     for name in ("metadata.json", "model.onnx"))

    def _cached(self, key, stamp):
        """The loaded Generator for `key` if its files have not changed, else None."""
        with self._lock:
            hit = self._loaded.get(key)
            if hit and hit[0] == stamp:
                return hit[1]
            failed = self._failed.get(key)
        if failed and failed[0] == stamp:
            raise ApiError(404, failed[1])
        return None

    def _load(self, name, version):
        key = (name, version)
        path = self.version_path(name, version)
        stamp = self._stamp(path)
        generator = self._cached(key, stamp)
        if generator is not None:
            return generator
        with self._lock:  # per folder: a moved model's load never waits for the old one
            version_lock = self._loading.setdefault(path, threading.Lock())
        with version_lock:
            generator = self._cached(key, stamp)  # loaded while this thread waited
            if generator is not None:
                return generator
            try:
                generator = self._new_generator(path)
            except Exception as e:  # a broken or half-copied version
                message = f"version {version} of {name!r} failed to load: {e}"
                log.warning(message)
                with self._lock:
                    if self._configured_at(name, path, version):
                        self._failed[key] = (stamp, message)
                raise ApiError(404, message) from e
            with self._lock:
                # A config reload during the load (the model gone or moved) has
                # unloaded that model already: the caller still gets what it
                # asked for, but nothing keeps it once its requests finish.
                if self._configured_at(name, path, version):
                    self._loaded[key] = (stamp, generator)
                    self._failed.pop(key, None)
                    self._ended.discard(key)
            return generator

    def _configured_at(self, name, path, version):
        """Whether version `version` of `name` is still at `path` (a config reload
        may have removed or moved the model). Called under `self._lock`, which
        `set_configs` holds while it swaps the configuration."""
        if self._configs is None:
            return True
        config = self._configs.get(name)
        return config is not None and os.path.join(config.base_path, str(version)) == path

    def _is_ready(self, name, version):
        with self._lock:
            if (name, version) not in self._loaded:
                return False  # no need to look at its files
        path = self.version_path(name, version)
        try:
            return self._cached((name, version), self._stamp(path)) is not None
        except ApiError:
            return False

    def _state(self, name, version, served):
        """`(state, error message)` of a version of `name` (`served`: whether its
        policy serves it). START: to load; END: failed to load (with the error)
        or unloaded."""
        path = self.version_path(name, version)
        stamp = self._stamp(path)
        key = (name, version)
        with self._lock:
            loaded, failed = self._loaded.get(key), self._failed.get(key)
            lock, ended = self._loading.get(path), key in self._ended
        if loaded and loaded[0] == stamp:
            return AVAILABLE, ""
        if lock is not None and lock.locked():
            return LOADING, ""
        if failed and failed[0] == stamp:
            return END, failed[1]
        return (END if ended and not served else START), ""

    def _settle(self, name):
        """Loads the versions of `name` that its policy serves and that have not
        been tried (newest first); then, with none left to load and one of them
        available, unloads the versions the policy no longer serves."""
        versions = self.versions(name)
        served = self._config(name).select(versions)
        for version in reversed(served):
            if self._state(name, version, True)[0] == START:
                try:
                    self._load(name, version)
                except ApiError:
                    pass  # recorded: its status says why, and "latest" skips it
        if served and {self._state(name, v, True)[0] for v in served} == {END}:
            try:  # every served version failed: an older one serves, as `get` does
                self._load_first(name, [v for v in reversed(versions) if v not in served])
            except ApiError:
                pass
        self._tend(name, served, load=False)

    def _load_first(self, name, candidates):
        """`(version, Generator)` of the first of `candidates` that loads; the
        ApiError of the last that failed when none does."""
        error = ApiError(404, f"Servable not found for request: Latest({name}); no "
                              "version to load")
        for candidate in candidates:
            try:
                return candidate, self._load(name, candidate)
            except ApiError as e:
                error = e
        raise error

    def _tend(self, name, served, load=True):
        """What asking for a model does to its versions: the served versions not
        tried yet load in the background (with `load`); once none is left to
        load and one is available, the versions the policy no longer serves are
        unloaded."""
        states = {self._state(name, v, True)[0] for v in served}
        if START in states:
            if load:
                self._settle_in_background(name)
        elif LOADING not in states and AVAILABLE in states:
            self._unload(name, keep=served)

    def _settle_in_background(self, name):
        """`_settle(name)` in a thread of its own, one per model at a time."""
        with self._lock:
            if name in self._settling:
                return
            self._settling.add(name)

        def settle():
            try:
                self._settle(name)
            except ApiError:
                pass  # the model left the config file meanwhile
            finally:
                with self._lock:
                    self._settling.discard(name)

        threading.Thread(target=settle, daemon=True, name=f"load {name}").start()

    def version_status(self, name):
        """`[(version, state, error message)]` of a model, newest first, as TF
        Serving's model status: each version its policy serves (START until it
        loads, LOADING, AVAILABLE, or END with the error that stopped its load),
        and the versions outside the policy that were loaded (AVAILABLE until a
        served version is, then END). Versions still to load start loading in
        the background."""
        versions = self.versions(name)
        served = self._config(name).select(versions)
        self._tend(name, served)
        with self._lock:  # versions whose folders went are forgotten
            self._ended = {k for k in self._ended if k[0] != name or k[1] in versions}
        states = [(v, *self._state(name, v, v in served)) for v in reversed(versions)]
        states = [(v, state, error) for v, state, error in states
                  if v in served or state != START]
        if not states:
            raise ApiError(404, f"Servable not found for request: Latest({name}); the "
                                f"version policy serves {self.policy(name)}: none present "
                                f"(versions present: {', '.join(map(str, versions))})")
        return states

    def latest_ready(self, name):
        """The version "latest" answers from now, without loading one: the newest
        loaded version the policy serves, else the newest loaded one; None when
        none is loaded."""
        versions = self.versions(name)
        return self._latest_ready(name, versions, self._config(name).select(versions))

    def _latest_ready(self, name, versions, served):
        loaded = [v for v in versions if self._is_ready(name, v)]
        best = next((v for v in reversed(served) if v in loaded), None)
        if best is None and loaded:
            best = loaded[-1]  # outside the policy, kept until a served version loads
        return best

    def get(self, name, version=None):
        """`(version, Generator)` of a version, or of the latest one the policy serves.

        "Latest" is the newest served version that is loaded; served versions
        not loaded yet load in the background meanwhile. With none loaded, the
        request loads the newest that loads (older versions too, when every served
        one fails: a half-copied new version does not take a model down).
        Versions that the policy no longer serves are unloaded; requests
        still running on them finish first (they hold the Generator).
        """
        versions = self.versions(name)
        served = self.served_versions(name)
        if version is not None:
            if not VERSION_PATTERN.fullmatch(str(version)) or int(version) not in versions:
                raise ApiError(404, f"Servable not found for request: Specific({name}, "
                                    f"{version}); versions present: "
                                    f"{', '.join(map(str, versions))}")
            if int(version) not in served:
                raise ApiError(404, f"Servable not found for request: Specific({name}, "
                                    f"{version}); the version policy serves {self.policy(name)}: "
                                    f"{', '.join(map(str, served)) or 'none present'}")
            return int(version), self._load(name, int(version))
        best = self._latest_ready(name, versions, served)
        if best is not None:
            self._tend(name, served)
            return best, self._load(name, best)
        return self._load_first(name, list(reversed(served)) + [
            v for v in reversed(versions) if v not in served])

    def _unload(self, name, keep):
        with self._lock:
            keys = [k for k in self._loaded if k[0] == name and k[1] not in keep]
            gone = [self._loaded.pop(k) for k in keys]
            self._ended.update(keys)
        if gone:
            log.info("unloaded %d version(s) of %r", len(gone), name)
            del gone  # the last reference, unless a request still runs on one
            release_memory()

    def loaded_versions(self, name):
        """The versions of `name` loaded now (for tests and monitoring)."""
        with self._lock:
            return sorted(v for n, v in self._loaded if n == name)


def file_stamp(path):
    """`(mtime_ns, size)` of a file, None when it is missing: changes when the file does."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_mtime_ns, info.st_size


def poll_config(repo, path, seconds, stop):
    """Rereads a model config file whenever it changes, until `stop` is set.

    A file that no longer parses is reported in the log and the previous
    configuration stays.

    Args:
        repo: ModelRepository. Serves the models of each reread file.
        path: str. The model config file.
        seconds: float. How often the file is checked.
        stop: threading.Event. Ends the polling when set.
    """
    def stamp():
        try:
            return file_stamp(path)
        except OSError:  # unreadable for now: try again at the next poll
            return None

    seen = stamp()
    while not stop.wait(seconds):
        now = stamp()
        if now == seen:
            continue
        seen = now
        try:
            repo.set_configs(read_model_config(path))
            log.warning("model config file %s reread", path)
        except ConfigError as e:
            log.error("model config file not reread, the previous one stays: %s", e)
