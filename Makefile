# Two commands: `make demo` and `make test`. Each makes .venv and installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test browser benchmark clean

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

test: $(VENV)/.installed-dev browser
	GENART_TEST_ARTIFACTS=test-artifacts $(BIN)/python -m pytest -q
	KERAS_BACKEND=jax $(BIN)/python -m pytest -q $(JAX_TESTS)

benchmark: $(VENV)/.installed
	$(BIN)/python benchmarks/train_throughput.py

clean:
	rm -rf $(VENV) runs artwork.png test-artifacts
