# Two commands for a newcomer: `make run` and `make test`. Each installs what it needs:
# uv (into .tools/ when it is not on PATH), then the locked environment (uv.lock).
SHELL := /bin/bash
PYTHON ?= python3
UV = $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN = $(UV) run --frozen --no-sync
SCALES ?= 1,10,100

.PHONY: setup run lint test test-all test-fast fuzz corpus bench bench-read bench-preflight bench-dbt bench-gate bench-postgres bench-validate bench-scale sample template docs clean

.tools/bin/uv:
	@command -v uv >/dev/null 2>&1 || { $(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv; }

.venv/.synced: pyproject.toml uv.lock | .tools/bin/uv
	@# bytecode compiled once at install: every later start reads it (about 2x faster start-up of
	@# Airflow, dbt and GX), even where PYTHONDONTWRITEBYTECODE keeps Python from caching it itself
	$(UV) sync --frozen --compile-bytecode
	@$(RUN) python -m compileall -q src dags >/dev/null
	@touch $@

setup: .venv/.synced

run: setup  ## the nightly job on the shipped sample, in-process
	$(RUN) kc run --raw raw --warehouse warehouse
	@$(RUN) python -m khuyencong.query_hint warehouse

# --dist loadgroup: tests go to whichever worker is free, one by one, except those of an
# xdist_group (modules whose module fixtures should run once) which stay together on one worker;
# in the order tests/conftest.py sorts them (the longest first), not reordered by group size.
PYTEST_N = $(RUN) pytest -q -n 2 --dist loadgroup --no-loadscope-reorder --durations=25

lint: setup  ## ruff, import layers, sqlfluff
	$(RUN) ruff check src dags tests benchmarks
	$(RUN) lint-imports
	@# the dbt templater compiles the project: no database needed, so an in-memory one
	KC_BUILD_DB=:memory: $(RUN) sqlfluff lint dbt_project/models dbt_project/tests

test: lint  ## lint, then the default test suite on both cores (the slow tier excluded)
	$(PYTEST_N)

test-all: lint  ## lint, then every test, the slow tier (10x the sample) included
	$(PYTEST_N) -m ""

test-fast: setup  ## the inner loop: no real kc run or DAG (e2e), no PostgreSQL / Chromium / dbt (integration)
	$(PYTEST_N) -m "not e2e and not integration and not slow"

fuzz: setup  ## mutate sample files for longer than `make test` does (KC_FUZZ_EXAMPLES, default 2000)
	KC_FUZZ_PROFILE=fuzz $(RUN) pytest -q tests/test_fuzz_files.py

corpus: setup  ## regenerate the committed hostile corpus tests/hostile/
	$(RUN) python tests/hostile/make_corpus.py

bench-read: setup  ## read and check the whole sample in-process
	$(RUN) python benchmarks/bench_read.py raw

bench-preflight: setup  ## the pre-flight sheet scan stays linear on hostile XML
	$(RUN) python benchmarks/bench_preflight.py raw

bench-dbt: setup
	$(RUN) python benchmarks/bench_dbt.py

bench-gate: setup
	$(RUN) python benchmarks/bench_gate.py raw

bench-postgres: setup  ## PostgreSQL target on the warehouse of `make run`: publish, raw copy, dbt build
	$(RUN) python benchmarks/bench_postgres.py

bench-validate: setup  ## `kc validate FILE` as subprocesses on 10 different files: median and max wall
	$(RUN) python benchmarks/bench_validate.py raw 10

bench: setup  ## kc run on the whole sample from empty, then one new file incrementally
	$(RUN) python benchmarks/bench_run.py

bench-scale: setup  ## kc run at 1x, 10x, 100x the sample (SCALES=1,10 for fewer): stage times, peak RSS, database size
	$(RUN) python benchmarks/bench_scale.py --scales $(SCALES)

sample: setup  ## regenerate the shipped sample (it is committed under raw/)
	$(RUN) kc sample --out raw

template: setup
	$(RUN) kc template warehouse/KC-1_template.xlsx

docs: setup
	cd dbt_project && KC_BUILD_DB=../warehouse/build.duckdb ../.venv/bin/dbt docs generate --profiles-dir .

clean:
	rm -rf warehouse dbt_project/target dbt_project/logs
