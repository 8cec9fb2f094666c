# Veil: `make run` (demo bank + scan, then the service, on the embedded default:
# SQLite + local files) and
# `make test` (lint + the whole suite). Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_HOME ?= $(CURDIR)/.veil-demo

.PHONY: install run test test-postgres lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# axe-core for tests/web's accessibility checks (test-only; pinned by the lockfile)
AXE    := tests/web/node_modules/axe-core/axe.min.js

$(AXE): tests/web/package.json tests/web/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/web --no-audit --no-fund; \
	else echo "npm not found: tests/web needs axe-core (apt-get install npm; make install)"; fi

install: $(STAMP) $(AXE)

run: $(STAMP)
	VEIL_HOME=$${VEIL_HOME:-$(DEMO_HOME)} $(BIN)/veil demo --serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

test: lint $(AXE)
	$(BIN)/pytest -q

# The store and CLI suites again, on a PostgreSQL server given by
# VEIL_TEST_DATABASE_URL (.ci/run starts a throw-away cluster and sets it).
test-postgres: $(STAMP)
	@test -n "$$VEIL_TEST_DATABASE_URL" || { echo "set VEIL_TEST_DATABASE_URL"; exit 2; }
	$(BIN)/pytest -q -m "not slow" tests/store tests/cli tests/api

bench: $(STAMP)
	$(BIN)/python bench/hashing.py --images 20

clean:
	rm -rf $(VENV) .veil-demo .pytest_cache .ruff_cache tests/web/node_modules
