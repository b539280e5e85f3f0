# Jiaoyun: `make run` to install everything and serve the demo district, `make test` to run
# the whole suite (lint, SQLite, PostgreSQL, browser).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
UV := .tools/bin/uv
UV_VERSION := 0.13.8
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
export UV_PYTHON_DOWNLOADS := never

.PHONY: help install run test lint test-sqlite test-postgres test-spark bench demo messages assets clean

help:
	@echo "make run    install everything, build the demo district, serve http://127.0.0.1:8000"
	@echo "make test   lint and the whole suite on SQLite and PostgreSQL"
	@echo "make bench  the benchmarks in bench/"

$(UV):
	@python=$$(scripts/find-python) && "$$python" -m venv .tools && .tools/bin/pip install -q "uv==$(UV_VERSION)"

.venv/.synced: $(UV) pyproject.toml uv.lock
	@scripts/system-deps
	@$(UV) sync --frozen --inexact --python "$$(scripts/find-python)" -q
	@touch $@

node_modules/.installed: package.json package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

assets: node_modules/.installed
	@mkdir -p jiaoyun/static/vendor
	@cp node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js jiaoyun/static/vendor/

messages: .venv/.synced
	@$(PY) manage.py compilemessages -v0 --ignore=.venv --ignore=node_modules

install: .venv/.synced assets messages

demo: install
	@$(PY) manage.py migrate -v0
	@$(PY) manage.py createcachetable
	@$(PY) manage.py demo_district --seed 7 --if-empty
	@$(PY) manage.py demo_exams --seed 7 --if-empty
	@$(PY) manage.py warehouse_snapshot

run: demo
	@scripts/serve

lint: install
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy jiaoyun

test-sqlite: install
	@$(PY) -m pytest -n 2 -m "not spark" $(PYTEST_ARGS)

test-postgres: install
	@scripts/services
	@JIAOYUN_DATABASE_URL=$(PG_URL) $(PY) -m pytest -n 2 -m "not browser and not spark" $(PYTEST_ARGS)

test: lint test-sqlite test-postgres test-spark

# PySpark is an optional extra (a 400 MB download): installed here, for the tests that
# run the same analytics on Spark in local mode.
test-spark: install
	@$(UV) sync --frozen --inexact --extra spark -q
	@PYSPARK_PYTHON=$(CURDIR)/.venv/bin/python SPARK_LOCAL_IP=127.0.0.1 $(PY) -m pytest -m spark $(PYTEST_ARGS); \
	status=$$?; [ $$status -eq 0 ] || [ $$status -eq 5 ]

bench: demo
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf .venv .tools node_modules var jiaoyun/static/vendor
