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

# llama-cpp-python is built from source once per machine, portable: never -march=native (a native
# build on an Intel CPU with AMX crashes in ggml_backend_amx_mul_mat on the first decode, and a
# native build would not run on an older CPU), and twice, so that the build does not depend on the
# CPU it was built on and still uses what the CPU it runs on has (models/cpu.py chooses at start):
# - the baseline, x86-64-v3 (AVX2, FMA, F16C, BMI2), AVX-512 and AMX off: installed as the package;
# - the avx512 variant (AVX-512 F/CD/VL/DQ/BW, VBMI, VNNI, BF16; AMX off): its libraries go to
#   .venv/llama-cpp-variants/avx512 and are loaded on CPUs that list all those flags.
# The wheels are kept in wheelhouses named by the version and the build flags, so a later venv or
# a fresh clone reuses them, and pip's own wheel cache (which may hold a native build) is never used.
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
	-DGGML_AMX_BF16=OFF
LLAMA_AVX512_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON \
	-DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
WHEELS ?= $(HOME)/.cache/psynote/wheels
WHEELHOUSE ?= $(WHEELS)/llama-cpp-python-$(LLAMA_VERSION)-$(shell echo '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
WHEELHOUSE_AVX512 ?= $(WHEELS)/llama-cpp-python-$(LLAMA_VERSION)-avx512-$(shell echo '$(LLAMA_AVX512_CMAKE_ARGS)' | sha256sum | cut -c1-12)

# One build at a time (each takes both cores for about 7 minutes): one lock for all of them.
$(WHEELHOUSE)/.built: | $(BIN)/python
	mkdir -p $(WHEELHOUSE)
	flock $(WHEELS)/.build.lock sh -c 'test -f $@ || { CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" \
		$(BIN)/pip wheel -q --no-cache-dir --no-deps llama-cpp-python==$(LLAMA_VERSION) -w $(WHEELHOUSE) \
		&& touch $@; }'

$(WHEELHOUSE_AVX512)/.built: | $(BIN)/python
	mkdir -p $(WHEELHOUSE_AVX512)
	flock $(WHEELS)/.build.lock sh -c 'test -f $@ || { CMAKE_ARGS="$(LLAMA_AVX512_CMAKE_ARGS)" \
		$(BIN)/pip wheel -q --no-cache-dir --no-deps llama-cpp-python==$(LLAMA_VERSION) -w $(WHEELHOUSE_AVX512) \
		&& touch $@; }'

# The service alone: no torch. flock keeps two set-ups from installing at once.
$(VENV)/.serve: pyproject.toml $(WHEELHOUSE)/.built $(WHEELHOUSE_AVX512)/.built | $(BIN)/python
	flock $(VENV)/.lock $(BIN)/pip install -q --no-index --find-links $(WHEELHOUSE) \
		--force-reinstall --no-deps llama-cpp-python==$(LLAMA_VERSION)
	flock $(VENV)/.lock $(BIN)/pip install -q -e .
	flock $(VENV)/.lock $(BIN)/python -m models.cpu install-variant avx512 \
		$(WHEELHOUSE_AVX512)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	touch $@

# Tests and training: torch's CPU wheel first (a plain `torch` would pull a CUDA build).
$(VENV)/.dev: pyproject.toml $(VENV)/.serve | $(BIN)/python
	flock $(VENV)/.lock $(BIN)/pip install -q torch==2.13.0
	flock $(VENV)/.lock $(BIN)/pip install -q -e '.[train,dev]'
	flock $(VENV)/.lock $(BIN)/python -m models.llama_tools fetch
	touch $@

setup-serve: $(VENV)/.serve
setup-dev: $(VENV)/.dev

# Resolve (assemble, verify, merge its adapter) the configured model before Serve starts, so a bad
# model fails here and the replica finds it ready;
# then print the local clinic's API key (created on first run, kept in var/local_api_key, 0600),
# and serve: deployments.launch deploys serve_config.yaml as `serve run` would, without the
# dashboard (`serve run serve_config.yaml` still works, and starts it).
run: setup-serve
	$(BIN)/python -m models.resolve --serve-config serve_config.yaml
	$(BIN)/python -m deployments.admin local-key
	$(BIN)/python -m deployments.launch serve_config.yaml

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

print-%:
	@echo $($*)
