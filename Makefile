# Two commands on a fresh clone: `make demo` and `make test`. Everything else is installed here.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
DATA ?=
TARGET ?=
KIND ?=
DATASET ?=
RECIPE ?=
VERBOSE ?=
ROWS ?= 5000

# uv must use the machine's Python, never download one.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install demo test unit lint iac-check bench image-size clean localstack browser serving-oracle

install: $(VENV)/.installed

$(UV):
	$(PYTHON) -m venv $(TOOLS)/uv
	$(TOOLS)/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras --python $(PYTHON)
	@touch $@

# A value as one shell word, whatever it holds (spaces, parentheses, quotes): 'it'\''s'.
quote = '$(subst ','\'',$(1))'

demo: install
	$(BIN)/automlops local --demo $(if $(DATA),--data $(call quote,$(DATA)),--rows $(ROWS)) \
		$(if $(TARGET),--target $(call quote,$(TARGET))) $(if $(KIND),--kind $(call quote,$(KIND))) \
		$(if $(DATASET),--dataset $(call quote,$(DATASET))) \
		$(if $(RECIPE),--recipe $(call quote,$(RECIPE))) $(if $(VERBOSE),--verbose)

# Two processes (the machine's cores), each file's tests on one of them: the suite mostly waits
# on servers, so this halves its time; each process has its own moto and LocalStack.
test: lint localstack browser serving-oracle
	$(BIN)/pytest -n 2 --dist loadfile

unit: install
	$(BIN)/pytest tests/unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	bash deploy/checks/run.sh
	bash deploy/checks/provider_schema.sh

# LocalStack, the pipeline tests' second AWS, in a venv of its own on Python 3.13 (pyenv's on the
# machine image). Without that Python the LocalStack half of the suite skips, saying so.
PYTHON313 ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null))
LOCALSTACK := $(TOOLS)/localstack

localstack: $(LOCALSTACK)/.installed

$(LOCALSTACK)/.installed:
	@if [ -z "$(PYTHON313)" ]; then \
		echo "localstack: no Python 3.13 found; the pipeline tests run on moto only"; \
	else \
		$(PYTHON313) -m venv $(LOCALSTACK) && \
		$(LOCALSTACK)/bin/pip install --quiet --disable-pip-version-check \
			"localstack-core[runtime]==4.9.2" "cbor2<6" "pyopenssl<24.3" && \
		touch $@; \
	fi

# The serving framework the XGBoost 3.0-5 image wraps (sagemaker-containers with the image's pins,
# its Python 3.10 and its one patch): the reference the emulator's script mode is tested against.
# Without a Python 3.10 (pyenv's on the machine image) that one test skips, saying so.
PYTHON310 ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.10*/bin/python3.10) $(shell command -v python3.10 2>/dev/null))
SERVING_ORACLE := $(TOOLS)/serving-oracle

serving-oracle: $(SERVING_ORACLE)/.installed

$(SERVING_ORACLE)/.installed: tests/serving-oracle.txt
	@if [ -z "$(PYTHON310)" ]; then \
		echo "serving-oracle: no Python 3.10 found; the serving fidelity test skips"; \
	else \
		rm -rf $(SERVING_ORACLE) && $(PYTHON310) -m venv $(SERVING_ORACLE) && \
		$(SERVING_ORACLE)/bin/pip install --quiet --disable-pip-version-check \
			-r tests/serving-oracle.txt && \
		sed -i 's/collections\.Mapping/collections.abc.Mapping/g' \
			$(SERVING_ORACLE)/lib/python3.10/site-packages/sagemaker_containers/_mapping.py && \
		touch $@; \
	fi

# Headless Chromium for the report tests (Debian's package). Where it cannot be installed (no
# root, no apt) the browser tests skip, saying so.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1)) || \
		echo "browser: chromium could not be installed; the browser tests skip"; \
	else echo "browser: no chromium and no root apt-get; the browser tests skip"; fi

# The throughput comparison's peers, in an environment of their own: never the project's lock.
BENCH_ENV := $(TOOLS)/bench

$(BENCH_ENV)/.installed: benchmarks/peers.txt | $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(BENCH_ENV)
	$(UV) pip install --quiet --python $(BENCH_ENV)/bin/python -r benchmarks/peers.txt
	@touch $@

bench: install $(BENCH_ENV)/.installed
	$(BIN)/python benchmarks/bench_consumer.py
	$(BIN)/python benchmarks/bench_preprocess.py
	$(BIN)/python benchmarks/bench_evaluate.py
	$(BIN)/python benchmarks/bench_serving.py
	$(BIN)/python benchmarks/bench_demo.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
