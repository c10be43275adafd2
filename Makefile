# Two commands: `make demo` and `make test`. Each makes .venv and installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test browser assets benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/genart demo

# The whole suite on TensorFlow, then the model, data, callback, CLI and evaluation tests on JAX.
JAX_TESTS := tests/test_models.py tests/test_data.py tests/test_callbacks.py tests/test_cli.py \
	tests/test_evaluate.py

# The studio's browser test needs Chromium: Debian's package, installed where this user may
# (root with apt-get); elsewhere the test skips and says so.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium >/dev/null; } || \
	  echo "make test: Chromium could not be installed; the studio's browser tests will skip"

# The studio's onnxruntime-web files and the Node example's onnxruntime-node, from npm at the
# versions and integrity hashes of serving/node/package-lock.json (not in git); without npm
# the studio's browser tests skip and say how to get them. npm writes the hidden lockfile.
NODE_MODULES := serving/node/node_modules/.package-lock.json

$(NODE_MODULES): serving/node/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd serving/node && ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci --no-audit --no-fund --loglevel=error; \
	else echo "make: npm is not installed: no onnxruntime-web files for the studio, its browser tests will skip"; fi

assets: $(NODE_MODULES)

test: $(VENV)/.installed-dev browser assets
	GENART_TEST_ARTIFACTS=test-artifacts $(BIN)/python -m pytest -q
	KERAS_BACKEND=jax $(BIN)/python -m pytest -q $(JAX_TESTS)

benchmark: $(VENV)/.installed
	$(BIN)/python benchmarks/train_throughput.py

clean:
	rm -rf $(VENV) runs artwork.png test-artifacts serving/node/node_modules
