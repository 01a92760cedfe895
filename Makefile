# Two commands a newcomer needs: `make demo` (the whole pipeline on the built-in sandbox) and
# `make test` (lint, types, tests). Both create .venv and install from constraints.txt first.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: install demo test ui clean home

$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The repo's own Dagster instance: runs from `make demo` show up in `make ui`. No telemetry is sent.
$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	printf 'telemetry:\n  enabled: false\n' > $@

home: $(DAGSTER_HOME)/dagster.yaml

demo: install home
	$(PY) -m pipeline.sandbox.demo

test: install
	$(BIN)/ruff check pipeline pipeline_tests
	$(BIN)/ruff format --check pipeline pipeline_tests
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r pipeline
	$(BIN)/pytest -q

ui: install home
	$(BIN)/dagster dev

clean:
	rm -rf $(VENV) data .dagster_home
