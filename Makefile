# Veil: `make run` (demo bank + scan, then the service, on the embedded default:
# SQLite + local files; PORT=8001 make run for another port) and
# `make test` (lint + the whole suite). Both create .venv on first use; `make test`
# first installs the Debian packages the browser tests need (.ci/install-deps, the
# script CI uses: as root or through `sudo -n`, else it prints the command to run).
PYTHON ?= python3
PORT   ?= 8000
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_HOME ?= $(CURDIR)/.veil-demo
DEPS   := PYTHON=$(PYTHON) bash .ci/install-deps

.PHONY: install run test test-deps test-postgres lint bench clean
# one step at a time: two apt-get runs must not race for the package lock
.NOTPARALLEL:

$(STAMP): pyproject.toml
	@$(DEPS) venv cc
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# invisible-watermark without the torch and GUI OpenCV it declares (veil.inspect
	# loads only its dwtDct decoder: PyWavelets and opencv-python-headless, in pyproject)
	$(BIN)/python -m pip install --quiet --no-deps 'invisible-watermark==0.2.0'
	touch $(STAMP)

# Debian's Chromium (tests/web; Playwright never downloads a browser), npm for
# axe-core, python3-venv for .venv, curl and jq for the documentation's examples
test-deps:
	@$(DEPS) venv chromium npm shell

# axe-core for tests/web's accessibility checks (test-only; pinned by the lockfile)
AXE    := tests/web/node_modules/axe-core/axe.min.js

$(AXE): tests/web/package.json tests/web/package-lock.json
	@$(DEPS) npm
	npm ci --prefix tests/web --no-audit --no-fund

install: test-deps $(STAMP) $(AXE)

run: $(STAMP)
	VEIL_HOME=$${VEIL_HOME:-$(DEMO_HOME)} $(BIN)/veil demo --serve --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: test-deps lint $(AXE)
	$(BIN)/pytest -q --durations=25

# The store, CLI and API suites again, on a PostgreSQL server given by
# VEIL_TEST_DATABASE_URL (.ci/run starts a throw-away cluster and sets it); the
# suites marked slow, which do not depend on the database, ran once in `make test`;
# the hub's feed queries (tests/exchange/test_hub_feed.py) are run on it too.
test-postgres: $(STAMP)
	@test -n "$$VEIL_TEST_DATABASE_URL" || { echo "set VEIL_TEST_DATABASE_URL"; exit 2; }
	$(BIN)/pytest -q -m "not slow" tests/store tests/cli tests/api tests/exchange/test_hub_feed.py

bench: $(STAMP)
	$(BIN)/python bench/hashing.py --images 20

clean:
	rm -rf $(VENV) .veil-demo .pytest_cache .ruff_cache tests/web/node_modules
