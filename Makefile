# vancouver-dap: every target bootstraps what it needs (.venv from requirements.lock, node_modules from
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

.PHONY: demo test synth diff diff-offline deploy destroy diagram lint lock snapshot-update bootstrap bench clean

# The venv is made anew from the lock whenever the lock or pyproject.toml changes, so it holds exactly
# what the lock lists (pip cannot remove what a lock no longer names). --no-deps: the lock is complete,
# and `pip check` proves it; the project itself installs without touching the index.
$(PY_STAMP): requirements.lock pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable .
	$(BIN)/python -m pip check
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Debian packages the suite drives: Chromium (the HTML report's browser test) and Graphviz (`dot`, the
# architecture picture). Installed with apt when missing and running as root (CI, these machines).
SYSTEM_STAMP := .make/system-packages
$(SYSTEM_STAMP):
	@missing=""; command -v chromium >/dev/null || command -v google-chrome >/dev/null || missing="$$missing chromium"; \
	command -v dot >/dev/null || missing="$$missing graphviz"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "apt-get install$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$$missing >/dev/null; \
		else echo "missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; fi; \
	fi
	@mkdir -p $(dir $@) && touch $@

## demo: the main job (no AWS credentials needed)
demo: $(PY_STAMP)
	$(BIN)/python -m dap local

## test: the whole suite, as CI runs it
test: $(PY_STAMP) $(NODE_STAMP) $(SYSTEM_STAMP)
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

## diagram: redraw docs/architecture.png from the synthesized app (a test fails when it is stale)
diagram: $(PY_STAMP) $(SYSTEM_STAMP)
	$(BIN)/python scripts/architecture_diagram.py

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
	$(BIN)/python benchmarks/ingest_from_portal.py $(if $(QUICK),--rows 10000)
	$(BIN)/python -m dap cost --stage $(STAGE)

## diff-offline: `cdk diff` of every stage and stack, BASE (a git ref) against the working tree, with no
## AWS credentials; SUMMARY=FILE also writes it as Markdown (the pull-request job's summary)
BASE ?= main
diff-offline: $(PY_STAMP) $(NODE_STAMP)
	$(BIN)/python scripts/diff_offline.py --base $(BASE) $(if $(SUMMARY),--summary "$(SUMMARY)")

## lock: resolve pyproject.toml's dev extra + requirements.in into requirements.lock, keeping every pin
## that still fits; UPGRADE=1 moves every package to the newest version allowed (see README)
## (it needs only the locked uv, so an edited pyproject.toml does not first rebuild the venv from the old lock)
lock:
	@test -x $(BIN)/uv || $(MAKE) $(PY_STAMP)
	$(BIN)/uv pip compile pyproject.toml requirements.in --extra dev --generate-hashes --universal \
		--python-version 3.11 --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade) --quiet -o requirements.lock

snapshot-update: $(PY_STAMP)
	$(BIN)/pytest tests/stacks --snapshot-update

clean:
	rm -rf cdk.out local_run benchmarks/out .pytest_cache .ruff_cache
