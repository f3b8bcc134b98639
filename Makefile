# firestore-to-mongo: everything starts from here. `make help` lists the targets.

VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8
# Installed packages come compiled to bytecode: with PYTHONDONTWRITEBYTECODE set (as on
# these machines) every Python process, every Airflow task runner included, would otherwise
# compile its imports anew: 7 of the 23 CPU-seconds of a small `airflow dags test`.
UV_INSTALL := uv pip install --quiet --compile-bytecode
STAMP := $(VENV)/.installed-$(shell (cat requirements.lock; echo "$(UV_INSTALL)") | cksum | cut -d' ' -f1)

# Python 3.MINOR ($(1) = 13, 11): `python3.MINOR` when it runs, else pyenv's binary of that
# version called directly (pyenv's shim refuses to run a version that isn't the selected one).
find_python = $(shell \
	if python3.$(1) -c 'import sys; assert sys.version_info[:2] == (3, $(1))' >/dev/null 2>&1; then \
		command -v python3.$(1); \
	elif command -v pyenv >/dev/null 2>&1; then \
		v=$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.$(1)(\.[0-9]+)?$$' | sort -V | tail -n 1); \
		[ -n "$$v" ] && echo "$$(pyenv root)/versions/$$v/bin/python3.$(1)"; \
	fi)

PYTHON313 ?= $(call find_python,13)

# Python 3.11, the oldest the DAG package supports.
PYTHON311 ?= $(call find_python,11)
VENV311 := .venv311
STAMP311 := $(VENV311)/.installed-$(shell (cat requirements-py311.lock; echo "$(UV_INSTALL)") | cksum | cut -d' ' -f1)

.PHONY: help venv test test-celery test-py311 lint format lock demo demo-down ui ui-down clean bench bench-rss bench-capture bench-scale docs docs-serve

help:
	@echo "make help       this list: every target of this Makefile"
	@echo "make venv       create .venv (Python 3.13) and install requirements.lock into it, when it changed"
	@echo "make test       create .venv if needed, run every test (unit + integration)"
	@echo "make demo       start (or reuse) the Firestore emulator and mongoeco, seed or change a few"
	@echo "                documents, run the DAG and the verify, print the summaries (under a minute)"
	@echo "make demo-down  stop the servers make demo left running (their data goes with them)"
	@echo "make query      counts and the newest document of each collection of the demo's MongoDB"
	@echo "                (COLLECTION=users: that collection only)"
	@echo "make ui         the whole product in a browser: Airflow's UI on 127.0.0.1:8080 (UI_HOST, UI_PORT) with the"
	@echo "                DAGs, the sample data, change capture on and the sync page; starts fresh every time"
	@echo "make ui-down    stop what make ui started (its data was in memory and goes with it)"
	@echo "make bench      throughput over simulated network latency: raw read/write, naive baseline, the DAG, mapping CPU,"
	@echo "                the verify (BENCH_N, BENCH_FIRESTORE_RTT_MS, BENCH_MONGO_RTT_MS, BENCH_MONGODB_URI, BENCH_PARTITIONS)"
	@echo "make bench-rss  peak RSS of the DAG at 5,000 and 40,000 messages (same as BENCH_RSS=1 make bench)"
	@echo "make bench-capture change capture's lag (p50/p95/max) under app-like writes, and the cut-over's"
	@echo "                freeze_seconds at 3,000 and 30,000 messages (BENCH_CAPTURE_*, BENCH_CUTOVER_*; 10 to 15 min)"
	@echo "make bench-scale cost per 1,000 documents of a full run (partitions 4), an incremental run, a full and a"
	@echo "                keys verify at N = 10,000 and 100,000 messages: a table and bench/scale.png (17 min;"
	@echo "                BENCH_SCALE_N=...,1000000 adds a million: over 20 h on the emulator, see bench/README.md)"
	@echo "make test-celery the DAG on a real CeleryExecutor deployment on this machine (redis, PostgreSQL,"
	@echo "                two workers): partitions spread over the workers, a killed worker's partition"
	@echo "                resumes on the other (4 to 6 minutes; needs Debian's redis-server and postgresql)"
	@echo "make test-py311 the unit and DAG-integrity tests on Python 3.11 (.venv311), the oldest supported"
	@echo "make lint       ruff check and format check, and the layering of include/ (import-linter, .importlinter)"
	@echo "make docs       build the documentation site into site/ (mkdocs build --strict: a broken link or a"
	@echo "                missing page fails; offline, no fonts or scripts from the internet)"
	@echo "make docs-serve serve the documentation site on 127.0.0.1:8000 (DOCS_HOST, DOCS_PORT), rebuilt on each edit"
	@echo "make lock       re-resolve requirements.lock from requirements-dev.txt"
	@echo "make format     ruff's fixes and formatting, applied"
	@echo "make clean      stop make demo's and make ui's servers, remove .demo, .ui, site and the caches"

venv: $(STAMP)

$(STAMP): requirements.lock
	@test -n "$(PYTHON313)" || { echo "Python 3.13 not found: install it or pass PYTHON313=/path/to/python3.13" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(VENV)/bin/$(UV_INSTALL) --python $(PY) -r requirements.lock
	@rm -f $(VENV)/.installed-*
	@touch $@

test: venv
	$(PY) -m pytest

# Not part of `make test` (tests/celery/conftest.py skips it unless FTM_CELERY=1): its own
# cluster, see devtools/celery_cluster.py and docs/scaling.md.
test-celery: venv
	FTM_CELERY=1 $(PY) -m pytest tests/celery

# The DAG package on Python 3.11: unit tests of include/ and the DAG-integrity tests. The
# test server (mongoeco) needs 3.13, so it runs on the main venv's Python.
test-py311: venv $(STAMP311)
	MONGOECO_PYTHON=$(abspath $(PY)) $(VENV311)/bin/python -m pytest tests/include tests/dags -m "not integration"

$(STAMP311): requirements-py311.lock
	@test -n "$(PYTHON311)" || { echo "Python 3.11 not found: install it or pass PYTHON311=/path/to/python3.11" >&2; exit 1; }
	@test -x $(VENV311)/bin/python || $(PYTHON311) -m venv $(VENV311)
	$(VENV)/bin/$(UV_INSTALL) --python $(VENV311)/bin/python -r requirements-py311.lock
	@rm -f $(VENV311)/.installed-*
	@touch $@

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lock: venv
	$(VENV)/bin/uv pip compile --quiet --python-version 3.13 requirements-dev.txt -o requirements.lock
	$(VENV)/bin/uv pip compile --quiet --python-version 3.11 requirements-py311.txt -o requirements-py311.lock

demo: venv
	PYTHONPATH=. $(PY) -m devtools.demo up

# Not part of `make test`: see bench/README.md. BENCH_* variables pass through the environment.
bench: venv
	PYTHONPATH=. $(PY) -m bench

bench-rss: venv
	BENCH_RSS=1 PYTHONPATH=. $(PY) -m bench

bench-capture: venv
	PYTHONPATH=. $(PY) -m bench capture

bench-scale: venv
	PYTHONPATH=. $(PY) -m bench.scale

ui: venv
	PYTHONPATH=. $(PY) -m devtools.ui up

ui-down:
	@test -x $(PY) && PYTHONPATH=. $(PY) -m devtools.ui down || true

demo-down:
	@test -x $(PY) && PYTHONPATH=. $(PY) -m devtools.demo down || true

# The documentation site (mkdocs.yml, docs/). Its hooks (docs/hooks/) parse dags/ for the params
# tables and the task graphs, so the build imports the DAGs as Airflow does. NO_MKDOCS_2_WARNING
# quiets the banner Material prints on every build about its end of life (May 2027).
DOCS_HOST ?= 127.0.0.1
DOCS_PORT ?= 8000

docs: venv
	PYTHONPATH=. NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: venv
	PYTHONPATH=. NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --strict -a $(DOCS_HOST):$(DOCS_PORT)

.PHONY: query
query: venv
	@PYTHONPATH=. $(PY) -m devtools.demo query $(COLLECTION)

clean: demo-down ui-down
	rm -rf .demo .ui .pytest_cache .ruff_cache site
