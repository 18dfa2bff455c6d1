# Two commands for a new machine: `make run` (service + demo data on SQLite), `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint test-sqlite test-postgres openapi bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/iomscore migrate
	$(BIN)/iomscore demo --if-empty --train
	$(BIN)/iomscore serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check service models scoring tests bench
	$(BIN)/mypy service models scoring

test-sqlite: $(STAMP)
	IOM_TEST_DATABASE=sqlite $(BIN)/python -m pytest -q -n auto --dist loadfile --doctest-modules scoring models tests

test-postgres: $(STAMP)
	IOM_TEST_DATABASE=$(PG_TEST_URL) $(BIN)/python -m pytest -q -n auto --dist loadfile tests

# The whole check: lint, then the suite on SQLite and again on PostgreSQL.
test: lint test-sqlite test-postgres

openapi: $(STAMP)
	$(BIN)/iomscore openapi --output openapi.yaml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
