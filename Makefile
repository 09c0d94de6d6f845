# Postventa: every target creates or reuses .venv, so it works on a fresh machine (Python 3.11+, Node.js).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CDK := npx --yes aws-cdk@2.1148.1
# This machine class ships Node 20; jsii still runs it but prints an end-of-life banner on every start.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test lint synth deploy bench schemas docs clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)  ## play the demo purchases through the journeys locally, on a virtual clock
	$(BIN)/postventa simulate

test: $(STAMP) chromium  ## unit, integration (moto), infrastructure (CDK) and end-to-end tests
	$(BIN)/pytest -n 2 --dist loadgroup

# The preference page is tested in a real headless browser: Debian's Chromium, installed once.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
	  { echo "Install Chromium (Debian/Ubuntu: apt-get install chromium) to run the browser tests"; exit 1; }

lint: $(STAMP)
	$(BIN)/ruff check functions infra tests bench
	$(BIN)/ruff format --check functions infra tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/postventa journeys validate

synth: $(STAMP)  ## CloudFormation template in cdk.out/, cdk-nag checked; needs no AWS credentials
	$(CDK) synth --quiet

deploy: $(STAMP)  ## deploy to the account and region of your AWS credentials; ARGS='-c key=value ...'
	$(CDK) deploy --require-approval broadening $(ARGS)

bench: $(STAMP)
	$(BIN)/python bench/run.py

schemas: $(STAMP)  ## regenerate events/schemas from the pydantic models
	$(BIN)/postventa schemas export --dir events/schemas

docs: $(STAMP)  ## regenerate docs/journey-maps.md from the journey files
	$(BIN)/postventa journeys render --all > docs/journey-maps.md

clean:
	rm -rf $(VENV) build cdk.out .pytest_cache
