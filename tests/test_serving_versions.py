"""The model repository's versions: what a config reload, a load in progress and the
version policy do to them, with loaders that stand in for onnxruntime."""

import os
import threading
from types import SimpleNamespace

import pytest

from tests.test_serving import _eventually


def _version(root, name, version):
    """A version folder as `find_versions` sees one (the stub loaders never read it).
    Its files' times are the same everywhere, so that a Generator loaded from another
    folder would pass for this one's (the repository tells them apart by size and time)."""
    folder = os.path.join(root, name, str(version))
    os.makedirs(folder, exist_ok=True)
    for file in ("metadata.json", "model.onnx"):
        with open(os.path.join(folder, file), "w") as f:
            f.write("{}")
        os.utime(os.path.join(folder, file), ns=(10**18, 10**18))
    return folder


def _config(models):
    """A model config file's text: `models` is [(name, base_path, policy)]."""
    blocks = "\n".join(f'config {{ name: "{name}" base_path: "{base}" '
                       f"model_version_policy {{ {policy} }} }}"
                       for name, base, policy in models)
    return "model_config_list {\n" + blocks + "\n}\n"


class _Loads:
    """A loader that records what it loads, refuses `broken` folders, and holds `slow` ones
    until `release` is set."""

    def __init__(self, broken=(), slow=()):
        self.broken = {os.path.normpath(p) for p in broken}
        self.slow = {os.path.normpath(p) for p in slow}
        self.paths, self.loading, self.release = [], threading.Event(), threading.Event()

    def __call__(self, path):
        path = os.path.normpath(path)
        if path in self.slow:
            self.loading.set()
            assert self.release.wait(30)
        if path in self.broken:
            raise ValueError("model.onnx is cut short")
        self.paths.append(path)
        return SimpleNamespace(path=path)


# --- issue 28, item 9: a load that a config reload overtakes ---------------------------

@pytest.mark.parametrize("change", ["removed", "moved"])
def test_a_load_overtaken_by_a_config_reload_is_not_kept(tmp_path, change):
    from keras_genart.serving.config import parse_model_config
    from keras_genart.serving.repository import ModelRepository

    for version in (1, 2):
        _version(tmp_path / "a", "art", version)
        _version(tmp_path / "b", "art", version)
    _version(tmp_path, "other", 1)
    load = _Loads(slow=[tmp_path / "a" / "art" / "2"])
    before = _config([("art", "a/art", "all {}"), ("other", "other", "latest {}")])
    after = _config([("other", "other", "latest {}")] if change == "removed" else
                    [("art", "b/art", "all {}"), ("other", "other", "latest {}")])
    repo = ModelRepository(configs=parse_model_config(before, str(tmp_path)), load=load)
    answer = {}
    request = threading.Thread(target=lambda: answer.update(got=repo.get("art", 2)))
    request.start()
    # The file changes while version 2 of the old "art" loads (the reload loads the
    # versions of the new configuration meanwhile).
    reload = threading.Thread(target=repo.set_configs,
                              args=(parse_model_config(after, str(tmp_path)),))
    try:
        assert load.loading.wait(10)
        reload.start()
        assert _eventually(lambda: repo.model_names() == ["other"] if change == "removed"
                           else repo.version_path("art", 2) == str(tmp_path / "b" / "art" / "2"))
    finally:
        load.release.set()
        request.join(30)
        reload.join(30)
    # The request in flight finishes on what it loaded; the repository keeps none of it.
    version, generator = answer["got"]
    assert version == 2 and generator.path == str(tmp_path / "a" / "art" / "2")
    if change == "removed":
        assert repo.loaded_versions("art") == []
    else:  # what serves is the new folder's versions
        assert repo.loaded_versions("art") == [1, 2]
        assert {repo.get("art", v)[1].path for v in (1, 2)} == {
            str(tmp_path / "b" / "art" / v) for v in ("1", "2")}


# --- issue 28, item 9: a model name ends at its last character, not before a newline --------

def test_a_model_name_with_a_trailing_newline_is_refused(tmp_path):
    from fastapi.testclient import TestClient

    from keras_genart.errors import UserInputError
    from keras_genart.export import export_model
    from keras_genart.serving.config import ConfigError, parse_model_config
    from keras_genart.serving.requests import ApiError
    from keras_genart.serving.server import create_app

    _version(tmp_path, "dcgan\n", 1)  # a folder that `$` took for the model "dcgan"
    client = TestClient(create_app(tmp_path, load=lambda path: SimpleNamespace(path=path)))
    assert client.get("/v1/models").json() == {"models": []}
    # (Starlette's route drops a trailing newline itself: this asks for "dcgan".)
    assert client.get("/v1/models/dcgan%0A").status_code == 404
    with pytest.raises(ApiError, match=r"model name 'dcgan\\n' is not valid"):
        client.app.state.repository.get("dcgan\n")
    with pytest.raises(ConfigError, match=r"model name 'dcgan\\n' is not allowed"):
        parse_model_config(_config([("dcgan\\n", "m", "latest {}")]))
    with pytest.raises(UserInputError, match=r"model name 'dcgan\\n' is not allowed"):
        export_model(SimpleNamespace(model_type="dcgan"), tmp_path / "out", name="dcgan\n",
                     formats=["savedmodel"], log=lambda *_: None)
    assert not (tmp_path / "out").exists()


# --- issue 28, item 5: the config file's strings, and base paths that do not exist -----------

@pytest.mark.parametrize("literal", [
    '"/models/modèle"',                      # UTF-8 as it is
    r'"/models/mod\303\250le"',              # octal bytes of UTF-8
    r'"/models/mod\xc3\xa8le"',              # hex bytes of UTF-8
    r'"/models/mod\u00e8le"', r"'/models/mod\U000000e8le'"])
def test_config_strings_read_as_protobuf_text_format(literal):
    from keras_genart.serving.config import parse_model_config

    text = f'model_config_list {{ config {{ name: "art" base_path: {literal} }} }}'
    assert parse_model_config(text)["art"].base_path == "/models/modèle"


def test_config_string_escapes_and_their_errors():
    from keras_genart.serving.config import ConfigError, parse_model_config

    def base_path(literal):
        text = f'model_config_list {{\nconfig {{ name: "a" base_path: {literal} }} }}'
        return parse_model_config(text)["a"].base_path

    assert base_path(r"""'/m/it\'s \"q\" a\\b\?\x41\101\t\n'""") == "/m/it's \"q\" a\\b?AA\t\n"
    assert base_path(r'"/m/\ud83c\udfa8"') == "/m/\U0001f3a8"  # a surrogate pair
    for literal, message in [(r'"/m/\q"', r"line 2: unknown escape '\\q'"),
                             (r'"/m/\x"', r"unknown escape '\\x'"),
                             (r'"/m/\400"', r"'\\400' is over \\377"),
                             (r'"/m/\udfa8"', "surrogate"),
                             (r'"/m/\U00110000"', "not a Unicode character"),
                             (r'"/m/\377"', "line 2: .* is not UTF-8")]:
        with pytest.raises(ConfigError, match=message):
            base_path(literal)


def test_a_base_path_that_does_not_exist_is_a_config_error(tmp_path, caplog):
    import logging
    import time

    from fastapi.testclient import TestClient

    from keras_genart.serving.config import ConfigError, read_model_config
    from keras_genart.serving.repository import poll_config
    from keras_genart.serving.server import create_app

    _version(tmp_path, "modèle", 1)
    config = tmp_path / "models.config"
    config.write_text(_config([("art", r"mod\303\250le", "latest {}")]), encoding="utf-8")
    app = create_app(model_config_file=str(config), config_poll_seconds=0,
                     load=lambda path: SimpleNamespace(path=path))
    assert TestClient(app).get("/v1/models/art").status_code == 200
    # A reload that names a missing folder keeps the configuration it had.
    stop = threading.Event()
    with caplog.at_level(logging.ERROR, logger="keras_genart.serving"):
        poller = threading.Thread(target=poll_config,
                                  args=(app.state.repository, str(config), 0.02, stop))
        poller.start()
        try:
            time.sleep(0.2)  # the poller has seen the file as it was
            config.write_text(_config([("art", "mod\\303\\250le", "latest {}"),
                                       ("gone", "nowhere", "all {}")]), encoding="utf-8")
            assert _eventually(lambda: "nowhere' of model 'gone'" in caplog.text)
        finally:
            stop.set()
            poller.join(10)
    assert app.state.repository.model_names() == ["art"]
    with pytest.raises(ConfigError, match=r"models.config: line 3: base_path '.*nowhere' of "
                                          r"model 'gone' does not exist"):
        read_model_config(config)


# --- issue 28, item 8: the status of every version of the policy, loaded when configured ------

def _entry(version, state="AVAILABLE", error_code="OK", error_message=""):
    """One `model_version_status` entry, in TF Serving's REST shape."""
    return {"version": str(version), "state": state,
            "status": {"error_code": error_code, "error_message": error_message}}


@pytest.mark.parametrize("policy,served", [("latest { num_versions: 2 }", [3, 2]),
                                           ("latest {}", [3]),
                                           ("specific { versions: 1 versions: 2 }", [2, 1]),
                                           ("all {}", [3, 2, 1])])
def test_status_reports_each_version_of_the_policy(tmp_path, policy, served):
    from fastapi.testclient import TestClient

    from keras_genart.serving.server import create_app

    for version in (1, 2, 3):
        _version(tmp_path, "art", version)
    config = tmp_path / "models.config"
    config.write_text(_config([("art", "art", policy)]))
    load = _Loads()
    client = TestClient(create_app(model_config_file=str(config), config_poll_seconds=0,
                                   load=load))
    # Loaded when configured, before any request, as TF Serving does.
    assert sorted(load.paths) == [str(tmp_path / "art" / str(v)) for v in sorted(served)]
    status = client.get("/v1/models/art")
    assert status.status_code == 200 and status.headers["x-model-version"] == str(served[0])
    assert status.json() == {"model_version_status": [_entry(v) for v in served]}
    assert client.get(f"/v1/models/art/versions/{served[-1]}").json() == {
        "model_version_status": [_entry(served[-1])]}
    assert len(load.paths) == len(served)  # the status requests loaded nothing


def test_status_says_which_version_failed_loads_and_which_ended(tmp_path):
    from fastapi.testclient import TestClient

    from keras_genart.serving.config import parse_model_config
    from keras_genart.serving.server import create_app

    for version in (1, 2, 3):
        _version(tmp_path, "art", version)
    _version(tmp_path, "other", 1)
    config = tmp_path / "models.config"
    config.write_text(_config([("art", "art", "specific { versions: 1 versions: 2 versions: 3 }")]))
    load = _Loads(broken=[tmp_path / "art" / "3"], slow=[tmp_path / "art" / "4"])
    client = TestClient(create_app(model_config_file=str(config), config_poll_seconds=0,
                                   load=load))
    repo = client.app.state.repository
    failed = _entry(3, "END", "UNKNOWN",
                    "version 3 of 'art' failed to load: model.onnx is cut short")
    status = client.get("/v1/models/art")
    assert status.json() == {"model_version_status": [failed, _entry(2), _entry(1)]}
    assert status.headers["x-model-version"] == "2"
    # A reload that serves version 2 alone unloads version 1: it has ended.
    repo.set_configs(parse_model_config(
        _config([("art", "art", "specific { versions: 2 }"), ("other", "other", "all {}")]),
        str(tmp_path)))
    assert repo.loaded_versions("art") == [2] and repo.loaded_versions("other") == [1]
    assert client.get("/v1/models/art").json() == {"model_version_status": [
        failed, _entry(2), _entry(1, "END")]}
    # A new version of the policy's versions loads in the background of the status request.
    repo.set_configs(parse_model_config(
        _config([("art", "art", "all {}")]), str(tmp_path)))
    _version(tmp_path, "art", 4)
    first = client.get("/v1/models/art").json()["model_version_status"][0]
    assert first["version"] == "4" and first["state"] in ("START", "LOADING")
    assert load.loading.wait(10)
    assert client.get("/v1/models/art").json()["model_version_status"][0] == _entry(4, "LOADING")
    load.release.set()
    assert _eventually(lambda: client.get("/v1/models/art").json()["model_version_status"][0]
                       == _entry(4))
    assert client.get("/v1/models/art").headers["x-model-version"] == "4"
    assert client.get("/v1/models/other").status_code == 404  # gone from the file
