# Two commands set everything up on a fresh machine with Python 3.10+ and make:
#   make lab    opens the series in JupyterLab
#   make test   runs the unit tests and every notebook under nbval
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
FIRST_NOTEBOOK := notebooks/00_start_here.ipynb
TEST_ENV := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 RESIDUAL_SCALE=cpu RESIDUAL_DEVICE=cpu

.PHONY: lab test execute benchmark clean

$(INSTALLED): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed, found " + sys.version.split()[0] + "; run make with PYTHON=python3.X")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(INSTALLED)

# Jupyter refuses to start as root unless told; containers often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(INSTALLED)
	$(BIN)/jupyter lab $(ALLOW_ROOT) $(FIRST_NOTEBOOK)

test: $(INSTALLED)
	$(TEST_ENV) $(BIN)/python -m pytest

# Re-execute every notebook in place from a clean kernel at CPU scale.
execute: $(INSTALLED)
	$(TEST_ENV) $(BIN)/python scripts/execute_notebooks.py notebooks/*.ipynb

# Time each notebook in a fresh kernel, record peak memory, write docs/benchmarks.md.
benchmark: $(INSTALLED)
	$(TEST_ENV) $(BIN)/python scripts/benchmark_notebooks.py --write docs/benchmarks.md

clean:
	rm -rf $(VENV)
