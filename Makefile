# Two commands set everything up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo run test lint typecheck unit services bench-deps compiled clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## Compile the monitor's hot path with mypyc (monitor/compiled.py); skipped if up to date.
compiled: $(BIN)/.installed
	$(BIN)/python scripts/build-compiled

## Run the whole platform on embedded defaults with a simulated fleet (^C to stop).
demo: $(BIN)/.installed compiled
	$(BIN)/collateral demo $(ARGS)

## Run broker, ingest, monitor, webhooks and API without the simulator.
run: $(BIN)/.installed compiled
	$(BIN)/collateral run $(ARGS)

## Install the real servers the integration tests start (influxd, mosquitto).
services:
	@./scripts/install-services

## Install the benchmark baselines' extras (Node-RED from npm, into ~/.cache; not for CI).
bench-deps:
	@./scripts/install-bench-deps

## Lint, type-check and run every test (integration tests start their own servers).
test: $(BIN)/.installed services lint typecheck compiled
	$(BIN)/pytest -q $(ARGS)
	@echo "the detectors' tests again, on the pure-Python monitor (monitor/compiled.py)"
	COLLATERAL_PURE_PYTHON=1 $(BIN)/pytest -q -p no:cacheprovider tests/monitor monitor

lint: $(BIN)/.installed
	$(BIN)/ruff check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var build .pytest_cache .mypy_cache .ruff_cache
