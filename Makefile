# Lectern: `make run` starts the platform locally; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test package layer bench clean promote-admin

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

layer: $(STAMP)
	bash layers/ffmpeg/build.sh

## Start the whole platform on 127.0.0.1 (API :8000, websockets :8001, AWS emulator :4566).
run: $(STAMP) layer
	$(PY) -m infra.local

## Install what the tests need and run them all.
test: $(STAMP) layer
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

## The deployable template: Chalice's APIs merged into template.yaml, in build/.
package: $(STAMP) layer
	$(PY) -m infra.package build

## Make EMAIL a platform admin on the running local platform: make promote-admin EMAIL=a@b.c
promote-admin: $(STAMP)
	set -a && . .data/local.env && set +a && $(PY) -m chalicelib.cli promote-admin "$(EMAIL)"

bench: $(STAMP)
	$(PY) bench/cold_start.py

clean:
	rm -rf build .pytest_cache layers/ffmpeg/build
