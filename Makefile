# vancouver-dap: every target bootstraps what it needs (.venv from pyproject.toml, node_modules from
# package-lock.json), and only when missing or out of date.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
STAGE ?= dev
CDK := npx --no-install cdk
CDK_ARGS := -c stage=$(STAGE)

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test synth diff deploy destroy lint snapshot-update bootstrap bench clean

$(PY_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --editable '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## demo: the main job (no AWS credentials needed)
demo: $(PY_STAMP)
	$(BIN)/python -m dap local

## test: the whole suite, as CI runs it
test: $(PY_STAMP) $(NODE_STAMP)
	$(BIN)/pytest

## synth: write cdk.out/ for STAGE (default dev), with cdk-nag and CloudFormation validation
synth: $(PY_STAMP) $(NODE_STAMP)
	$(CDK) synth --all $(CDK_ARGS) --quiet

## diff / deploy / destroy: need AWS credentials for the stage's account (see README)
diff: $(PY_STAMP) $(NODE_STAMP)
	$(CDK) diff --all $(CDK_ARGS)

deploy: $(PY_STAMP) $(NODE_STAMP)
	$(CDK) deploy --all $(CDK_ARGS) --require-approval broadening

destroy: $(PY_STAMP) $(NODE_STAMP)
	$(CDK) destroy --all $(CDK_ARGS)

## bootstrap: CDK bootstrap of both regions of STAGE's account
bootstrap: $(PY_STAMP) $(NODE_STAMP)
	$(BIN)/python scripts/bootstrap_command.py $(STAGE) | sh -x

## lint: ruff, then cfn-lint on every synthesized template for its own region
lint: synth
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/lint_templates.py cdk.out

## bench: speed, scan and cost figures (benchmarks print, tests assert); QUICK=1 for a short run
bench: $(PY_STAMP) $(NODE_STAMP)
	$(BIN)/python benchmarks/synth.py $(if $(QUICK),--quick)
	$(BIN)/python benchmarks/etl_scale.py $(if $(QUICK),--quick)
	$(BIN)/python benchmarks/athena_scan.py $(if $(QUICK),--quick)
	$(BIN)/python -m dap cost --stage $(STAGE)

snapshot-update: $(PY_STAMP)
	$(BIN)/pytest tests/stacks --snapshot-update

clean:
	rm -rf cdk.out local_run benchmarks/out .pytest_cache .ruff_cache
