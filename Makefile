# Pilot Control Plane — the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
PORT ?= 8000
TEST_ENV := DJANGO_ENV=test
export PIP_NO_WARN_SCRIPT_LOCATION=1

.PHONY: run test lint typecheck migrations-check pytest bench soak clean deploy-check

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade "pip>=24"

$(VENV)/.installed: $(PY) pyproject.toml constraints.txt
	$(PIP) install -c constraints.txt . 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import django, rest_framework, celery"
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -c constraints.txt ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import pytest, mypy, factory"
	touch $@

## make run: install, migrate, roles, demo users and pilot, then web + worker + beat (Ctrl-C stops all)
run: $(VENV)/.installed
	@mkdir -p var/broker/queue var/broker/processed var/broker/control var/exports var/static
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py bootstrap_roles -v0 >/dev/null
	PORT=$(PORT) $(PY) manage.py seed_demo
	PORT=$(PORT) PY=$(PY) scripts/run-dev.sh

## make test: lint, types, migrations check and the whole suite on PostgreSQL + Redis
test: $(VENV)/.installed-dev lint typecheck migrations-check pytest

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

typecheck: $(VENV)/.installed-dev
	$(TEST_ENV) $(VENV)/bin/mypy .

migrations-check: $(VENV)/.installed-dev
	$(TEST_ENV) DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} $(PY) manage.py makemigrations --check --dry-run

pytest: $(VENV)/.installed-dev
	scripts/ensure-services.sh
	scripts/ensure-browser.sh
	scripts/ensure-alertmanager.sh
	scripts/ensure-nginx.sh
	scripts/ensure-prometheus.sh
	$(TEST_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS)

## make soak: only the slow reliability tests (real processes, injected faults; see RELIABILITY.md).
## `make test` runs them too (they are part of the suite); this target re-runs just them.
soak: $(VENV)/.installed-dev
	scripts/ensure-services.sh
	$(TEST_ENV) $(VENV)/bin/pytest -m slow tests/reliability -p no:cacheprovider -s $(PYTEST_ARGS)

## make deploy-check: production settings pass `check --deploy` (uses throwaway values)
deploy-check: $(VENV)/.installed
	DJANGO_ENV=production SECRET_KEY=$$($(PY) -c 'import secrets;print(secrets.token_urlsafe(64))') \
	  ALLOWED_HOSTS=control-plane.example DATABASE_URL=postgres://postgres@127.0.0.1/postgres \
	  REDIS_URL=redis://127.0.0.1:6379/0 $(PY) manage.py check --deploy --fail-level WARNING

## make bench: the benchmarks on PostgreSQL (pcp_bench) + Redis (db 9), < 15 min;
## BENCH_ONLY=case1,case3 runs a subset. Writes bench/results.{json,md} and the README table.
bench: $(VENV)/.installed-dev
	scripts/ensure-services.sh
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; apt-get install -y wrk; }
	DJANGO_ENV=bench $(PY) -m bench.run

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
