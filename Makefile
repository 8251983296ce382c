# tradeterm — two commands matter: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CONFIG ?= configs/default.toml

.PHONY: run test check lint typecheck imports pytest bench schema clean setup

# Create the virtualenv if missing and (re)install the project when pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c "import sys; sys.exit(sys.version_info < (3, 11))" || { echo "need Python >= 3.11 (found $(PYTHON))"; exit 2; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/tradeterm --config $(CONFIG)

lint: $(STAMP)
	$(VENV)/bin/ruff check tradeterm tests bench
	$(VENV)/bin/ruff format --check tradeterm tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

imports: $(STAMP)
	$(VENV)/bin/lint-imports

pytest: $(STAMP)
	$(VENV)/bin/pytest -q

check: lint typecheck imports pytest

test: check

bench: $(STAMP)
	$(PY) -m tradeterm.testing.warmup
	$(PY) -m bench

schema: $(STAMP)
	$(VENV)/bin/tradeterm config schema > configs/schema.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
