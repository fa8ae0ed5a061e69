# Lectern: `make run` starts the platform locally; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# checkov pins boto3 exactly, at an older release than ours: it has a virtualenv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: run test package layer web bench clean promote-admin reprocess

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade 'pip<26.3'  # chalice 1.34 requires pip<26.3
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

layer: $(STAMP)
	bash layers/ffmpeg/build.sh

## The browser pages' dependencies: hls.js from npm (pinned by web/package-lock.json) into web/vendor/.
web: web/vendor/hls.min.js

web/vendor/hls.min.js: web/package.json web/package-lock.json
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	mkdir -p web/vendor
	cp web/node_modules/hls.js/dist/hls.min.js $@

## Start the whole platform on 127.0.0.1 (API :8000, websockets :8001, AWS emulator :4566).
run: $(STAMP) layer web
	$(PY) -m infra.local

## Install what the tests need and run them all.
test: $(STAMP) $(CHECKOV_STAMP) layer web
	bash tests/install_system_deps.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

## The deployable template: Chalice's APIs merged into template.yaml, in build/.
package: $(STAMP) layer
	$(PY) -m infra.package build

## Make EMAIL a platform admin on the running local platform: make promote-admin EMAIL=a@b.c
promote-admin: $(STAMP)
	set -a && . .data/local.env && set +a && $(PY) -m chalicelib.cli promote-admin "$(EMAIL)"

## Run a video's pipeline again on the running local platform: make reprocess VIDEO=<video id>
reprocess: $(STAMP)
	set -a && . .data/local.env && set +a && $(PY) -m chalicelib.cli reprocess "$(VIDEO)"

bench: $(STAMP)
	$(PY) bench/cold_start.py

clean:
	rm -rf build .pytest_cache layers/ffmpeg/build web/vendor web/node_modules
