# Two commands a newcomer needs: `make demo` (the whole pipeline on the built-in sandbox) and
# `make test` (lint, types, tests). Both create .venv and install from constraints.txt first.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: install demo test test-container ui clean home bench bench-quick

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The repo's own Dagster instance: runs from `make demo` show up in `make ui`. Its settings are
# deploy/dagster.local.yaml (SQLite, the production pool limit, no telemetry), copied again when it changes.
$(DAGSTER_HOME)/dagster.yaml: deploy/dagster.local.yaml
	mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.local.yaml $@

home: $(DAGSTER_HOME)/dagster.yaml

demo: install home
	$(PY) -m pipeline.sandbox.demo

# pytest runs against a throwaway PostgreSQL (scripts/test-postgres.sh), which is stopped and removed
# afterwards whether the tests pass, fail or are interrupted; make exits with pytest's status.
define with_postgres
@trap './scripts/test-postgres.sh stop' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
url="$$(./scripts/test-postgres.sh start)" || exit 1; \
echo "PIPELINE_TEST_POSTGRES_URL=$$url"; \
PIPELINE_TEST_POSTGRES_URL="$$url" $(1)
endef

test: install
	$(BIN)/ruff check pipeline pipeline_tests
	$(BIN)/ruff format --check pipeline pipeline_tests
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r pipeline
	$(call with_postgres,$(BIN)/pytest -q -m "not container")

# deploy/Dockerfile built with podman and the whole graph run in it (pipeline_tests/container/): about
# 5 minutes the first time on a machine (the base bootstrapped, every layer built), 2 once both are kept. As root it installs
# podman, mmdebstrap and runc with apt when they are missing (scripts/ensure-podman.sh).
test-container: install
	./scripts/ensure-podman.sh
	$(call with_postgres,$(BIN)/pytest -q -m container pipeline_tests/container)

# The UI on the demo's instance, with the sandbox running, so runs launched from it reach the fakes.
ui: install home
	$(PY) -m pipeline.sandbox.demo --ui

# The seed scripts vs the pipeline on this machine, about 10 minutes (docs/performance.md).
bench: install
	$(PY) -m pipeline_tests.benchmarks.run --out docs/performance-results.md

bench-quick: install
	$(PY) -m pipeline_tests.benchmarks.run --quick

clean:
	rm -rf $(VENV) data .dagster_home
