# The README's commands. `make run`: set up and serve on the embedded default model.
# `make test`: set up and run the tests. Both are safe to rerun; set-up happens once per venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Keep Ray on loopback, without token set-up or usage reporting, for local runs and tests.
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER := 0
export RAY_AUTH_MODE := disabled
export RAY_USAGE_STATS_ENABLED := 0
export HF_HUB_OFFLINE := 1
export NOTES_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: run test test-slow test-all setup-serve setup-dev lint bench-serve bench-train clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The service alone: no torch. llama-cpp-python builds from source once; pip's wheel cache
# keeps the build for later venvs. flock keeps two set-ups from building at once.
$(VENV)/.serve: pyproject.toml | $(BIN)/python
	flock $(VENV)/.lock $(BIN)/pip install -q -e .
	touch $@

# Tests and training: torch's CPU wheel first (a plain `torch` would pull a CUDA build).
$(VENV)/.dev: pyproject.toml | $(BIN)/python
	flock $(VENV)/.lock $(BIN)/pip install -q torch==2.13.0
	flock $(VENV)/.lock $(BIN)/pip install -q -e '.[train,dev]'
	flock $(VENV)/.lock $(BIN)/python -m models.llama_tools fetch
	touch $(VENV)/.serve $@

setup-serve: $(VENV)/.serve
setup-dev: $(VENV)/.dev

# Resolve (assemble, verify) the configured model before Serve starts, so a bad model fails here.
run: setup-serve
	$(BIN)/python -m models.resolve "$$($(BIN)/python -c "import yaml; print(yaml.safe_load(open('serve_config.yaml'))['applications'][0]['args']['model'])")"
	$(BIN)/serve run serve_config.yaml

test: setup-dev
	$(BIN)/python -m pytest -m "not slow" -q

test-slow: setup-dev
	$(BIN)/python -m pytest -m slow -q

test-all: setup-dev
	$(BIN)/python -m pytest -q

lint: setup-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench-serve: setup-dev
	$(BIN)/python bench/serve_bench.py

bench-train: setup-dev
	$(BIN)/python bench/train_bench.py

clean:
	rm -rf $(VENV) var build *.egg-info
