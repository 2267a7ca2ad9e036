# The front door. `make check` synthesizes every environment and runs the policy gate;
# `make test` runs the test suite. Both install what they need first (pipenv from Pipfile.lock,
# the cdktf CLI from package-lock.json).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# No committed file names a package index: use pip's configured index, else pip's own default.
PIP_INDEX_URL ?= $(shell pip3 config get global.index-url 2>/dev/null || python3 -c "from pip._internal.models.index import PyPI; print(PyPI.simple_url)")
export PIP_INDEX_URL
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
# Node 20 is end-of-life; jsii prints a banner each run without these. Node 22+ is recommended.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CHECKPOINT_DISABLE := 1

PIPENV_VERSION := 2026.10.3
PY := .venv/bin/python

.PHONY: help install synth check cost test bench clean

help:
	@echo "make check   synthesize all environments and run the policy gate (the main job)"
	@echo "make synth   synthesize all environments into cdktf.out (HUB_PREVIEW=<branch> adds a preview)"
	@echo "make cost    monthly cost per environment against its budget"
	@echo "make test    run the test suite"
	@echo "make bench   measure synth and gate speed"

.venv/.synced: Pipfile.lock
	@python3 -m pipenv --version >/dev/null 2>&1 || python3 -m pip install -q "pipenv==$(PIPENV_VERSION)"
	python3 -m pipenv sync --dev
	@touch $@

node_modules/.synced: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: .venv/.synced node_modules/.synced

synth: .venv/.synced
	$(PY) -m stacks

check: .venv/.synced
	$(PY) main.py

cost: .venv/.synced
	$(PY) -m policies cost

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/run.py

clean:
	rm -rf cdktf.out .cache
