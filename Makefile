# Two commands set everything up: `make quickstart` and `make test`.
# Each creates .venv if missing and installs torch 2.13.0 (CPU wheel) *before* the package, so
# that resolving the package's dependencies never pulls CUDA builds of torch.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lit_irl-installed

.PHONY: quickstart test bench clean-runs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

quickstart: $(STAMP)
	$(BIN)/python tools/quickstart.py

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist worksteal  # one worker per core: most tests are one-thread CLI runs

bench: $(STAMP)
	$(BIN)/python tools/bench_throughput.py

clean-runs:
	rm -rf runs
