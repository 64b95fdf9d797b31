# Two commands matter: `make run` and `make test`. Both install first (idempotent).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: install run test test-fast lint format bench services-start services-stop clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev]'
	touch $@

run: install
	$(BIN)/stadspuls run $(ARGS)

# The whole suite, on SQLite and on a real PostgreSQL that scripts/test-services.sh starts, and
# the end-to-end tests in Debian's chromium (installed when missing).
test: install
	bash scripts/install-chromium.sh
	bash scripts/test-services.sh start
	. var/test-services.env && $(BIN)/python -m pytest $(ARGS); rc=$$?; \
	  bash scripts/test-services.sh stop; exit $$rc

# SQLite only, no servers, no browser install.
test-fast: install
	$(BIN)/python -m pytest -m 'not postgres' $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
