# The two set-up commands: `make demo` and `make test`. Each creates .venv and installs
# what it needs. Python 3.13 (the Lambda runtime) is used when found, else python3.
PY ?= $(shell for p in $(HOME)/.pyenv/versions/3.13*/bin/python3.13 python3.13 python3; do \
        $$p -c 'import sys' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= demo-out

SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
PY313_BIN := $(dir $(PY))
export SAM_CLI_TELEMETRY := 0

.PHONY: demo test test-clock fuzz faults lint typecheck unit integration bench identity-scale \
	eval train validate e2e clean print-py lock audit privacy browser-test

# Every venv installs from a lock with hashes (requirements/README.md); `make lock`
# writes them all from the ranges in pyproject.toml and requirements/*.in.
INSTALL_LOCKED = python -m pip install --quiet --require-hashes -r

$(STAMP): pyproject.toml requirements/dev.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/$(INSTALL_LOCKED) requirements/dev.txt
	# the project itself, editable, its dependencies already installed from the lock; the
	# filter hides only setuptools' notice that an editable install uses an import finder
	# (two package roots); its deprecation warnings still show
	PYTHONWARNINGS=ignore:::setuptools.command.editable_wheel \
		$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# CRM=hubspot, zendesk, salesforce, hubspot+zendesk or salesforce+zendesk: the sample CRM
# as that vendor's stand-in.
demo: $(STAMP)
	$(BIN)/socialcare demo --out $(OUT) $(if $(CRM),--crm-kind $(CRM))

test: $(STAMP) lint typecheck
	$(BIN)/pytest

# The unit and integration tests with the clock moved (libfaketime): nothing may depend on
# today's date. CLOCK=+45d for another shift. Python's time.sleep needs the monotonic
# clock faked too, so FAKETIME_DONT_FAKE_MONOTONIC stays unset.
CLOCK ?= +400d
test-clock: $(STAMP)
	@command -v faketime >/dev/null 2>&1 || { echo "installing faketime (Debian package)"; \
		$$(command -v sudo) apt-get update -qq && $$(command -v sudo) apt-get install -y -qq faketime >/dev/null; }
	faketime -f '$(CLOCK)' $(BIN)/python -c 'import datetime; print("clock:", datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))'
	faketime -f '$(CLOCK)' $(BIN)/pytest -p no:cacheprovider -q

# Property-based tests over every edge (tests/fuzz, hypothesis): a table of targets with
# cases, unhandled exceptions (must be 0) and the slowest case. The seed pins the cases
# (CI runs the default); FUZZ_CASES=3000 runs more per target.
FUZZ_SEED ?= 22
FUZZ_CASES ?= 200
fuzz: $(STAMP)
	FUZZ_CASES=$(FUZZ_CASES) $(BIN)/pytest tests/fuzz -p no:cacheprovider -q --hypothesis-seed=$(FUZZ_SEED)

# The fault table through the emulator (tests/faults): redelivery, concurrency, outages,
# poison messages, throttling, crashes, a restarted emulator. Fails on any loss or duplicate.
faults: $(STAMP)
	$(BIN)/pytest tests/faults -p no:cacheprovider -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/cfn-lint template.yaml -a cfn_lint_serverless.rules

typecheck: $(STAMP)
	$(BIN)/mypy layers/socialcare/socialcare cli/socialcare_cli
	# each is module `app`; its own cache, so the package check never reads their view
	for f in functions/*/app.py; do $(BIN)/mypy --cache-dir .mypy_cache/functions $$f || exit 1; done

# The pages people open, in a real headless Chromium (tests/browser, outside the default
# test paths, so neither `make test` nor `make test-clock` starts a browser): the demo's
# report, the unsubscribe page, the digest's mark-wrong page. Debian's chromium and
# chromium-driver are installed when missing; screenshots go to test-out/screenshots/.
browser-test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { \
		echo "installing chromium and chromium-driver (Debian packages)"; \
		$$(command -v sudo) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		$$(command -v sudo) apt-get install -y -qq chromium chromium-driver >/dev/null; }
	rm -rf test-out/screenshots
	SOCIALCARE_BROWSER_REQUIRED=1 $(BIN)/pytest -p no:cacheprovider tests/browser
	@echo "screenshots: $$(ls test-out/screenshots | wc -l) in test-out/screenshots/"

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

# Speed, memory and size (docs/bench.md): one table, and bench-out/bench.json. `sam build`
# twice with SAM's cache: for arm64, whose layers are sized, and for x86_64 (this machine),
# whose functions and layers the cold starts run, with boto3 alone as the Lambda runtime
# has it. BENCH_ARGS passes options (e.g. --rounds 9 --identity-size 0).
BENCH_OUT ?= bench-out
BENCH_DIR := .aws-sam/bench
bench: $(STAMP) $(SAM_VENV)/.installed
	mkdir -p $(BENCH_DIR)
	for arch in arm64 x86_64; do \
		PATH="$(abspath $(PY313_BIN)):$$PATH" $(SAM) build --build-dir $(BENCH_DIR)/$$arch \
			--cache-dir $(BENCH_DIR)/cache --cached --parameter-overrides Architecture=$$arch \
			>$(BENCH_DIR)/build-$$arch.log 2>&1 || { tail -20 $(BENCH_DIR)/build-$$arch.log; exit 1; }; \
	done
	version=$$($(BIN)/python -c 'import boto3; print(boto3.__version__)'); \
	test -d $(BENCH_DIR)/runtime-$$version || $(BIN)/python -m pip install --quiet \
		--target $(BENCH_DIR)/runtime-$$version "boto3==$$version"; \
	$(BIN)/python -m socialcare_cli.bench --out $(BENCH_OUT) --built $(BENCH_DIR)/arm64 \
		--cold-build $(BENCH_DIR)/x86_64 --runtime $(BENCH_DIR)/runtime-$$version $(BENCH_ARGS)

# Issue 17's done-when on 300,000 generated customers (the default test run uses 20,000);
# the 1M figures come from `python -m socialcare_cli.bench_identity`.
identity-scale: $(STAMP)
	SOCIALCARE_IDENTITY_SCALE=300000 $(BIN)/pytest -s -p no:cacheprovider tests/integration/test_identity_at_scale.py

# Triage quality (docs/triage.md): the cue rules and the shipped model on the blind split
# (per language, per kind), the older dev sets, and the public benchmark by 5-fold
# cross-validation through `socialcare train` when ../shared is present; the tables are
# written into docs/triage.md.
BENCHMARK_CSV := ../shared/fixtures/benchmarks/complaints-social-media/complaints-data.csv
eval: $(STAMP)
	$(BIN)/python scripts/corpus_check.py data/triage
	$(BIN)/python scripts/evaluate_triage.py --benchmark $(BENCHMARK_CSV) --write-doc

# Rebuild the shipped triage model from the corpus (deterministic; docs/triage.md).
TRIAGE_MODEL_DIR := layers/socialcare/socialcare/data
train: $(STAMP)
	$(BIN)/socialcare train --out $(TRIAGE_MODEL_DIR)

$(SAM_VENV)/.installed: requirements/sam.txt
	$(PY) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/$(INSTALL_LOCKED) requirements/sam.txt
	touch $@

CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	$(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/$(INSTALL_LOCKED) requirements/checkov.txt
	touch $@

# The tools AWS users run on a template. sam build needs the runtime's interpreter
# (python3.13) on PATH; it cross-builds the arm64 layer. Skipped checkov checks are
# justified next to each resource (Metadata.checkov.skip).
validate: $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(SAM) validate --lint
	$(SAM) validate --lint --config-env prod  # samconfig.toml's production environment
	AWS_DEFAULT_REGION=eu-west-1 $(SAM) validate  # also runs the SAM transform
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --skip-download --quiet --compact
	PATH="$(abspath $(PY313_BIN)):$$PATH" $(SAM) build

# End-to-end (docs/testing.md, "End-to-end test"): sam build + sam deploy onto MiniStack on
# 127.0.0.1, a replayed page to e-mails. MiniStack runs the handlers on its own venv's
# Python, so that venv is 3.13 and has boto3 (as the Lambda runtime does). Not in `test`.
# MiniStack's version is pinned in requirements/ministack.in.
MINISTACK_VENV := .venv-ministack

$(MINISTACK_VENV)/.installed: requirements/ministack.txt
	$(PY) -m venv $(MINISTACK_VENV)
	$(MINISTACK_VENV)/bin/$(INSTALL_LOCKED) requirements/ministack.txt
	touch $@

e2e: $(STAMP) $(SAM_VENV)/.installed $(MINISTACK_VENV)/.installed
	PATH="$(abspath $(PY313_BIN)):$$PATH" SOCIALCARE_E2E_REQUIRED=1 \
		$(BIN)/pytest -m e2e tests/e2e

# The locks (requirements/README.md): uv resolves each range file for the Lambda runtime
# (Python 3.13, Linux) and hashes every file of each pinned version.
UV_VENV := .venv-uv
UV_VERSION := 0.13.9
COMPILE = $(UV_VENV)/bin/uv pip compile --quiet --python-version 3.13 --python-platform linux \
	--generate-hashes --custom-compile-command 'make lock'
TOOLS := sam checkov ministack audit

$(UV_VENV)/.installed:
	$(PY) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet 'uv==$(UV_VERSION)'
	touch $@

lock: $(UV_VENV)/.installed
	# the layer: the project's runtime dependencies less boto3, which Lambda provides
	$(PY) scripts/audit.py layer-input | $(COMPILE) - -o layers/socialcare/requirements.txt
	$(COMPILE) pyproject.toml --extra dev -o requirements/dev.txt
	for tool in $(TOOLS); do \
		$(COMPILE) requirements/$$tool.in -o requirements/$$tool.txt || exit 1; done

# pip-audit against the layer and dev locks, and a CycloneDX SBOM of each (sbom-*.json).
# Without a reachable vulnerability database it says SKIPPED and exits 0; it fails on a
# finding, or on a lock that is unpinned, unhashed or behind its ranges.
AUDIT_VENV := .venv-audit
$(AUDIT_VENV)/.installed: requirements/audit.txt
	$(PY) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/$(INSTALL_LOCKED) requirements/audit.txt
	touch $@

audit: $(AUDIT_VENV)/.installed
	$(AUDIT_VENV)/bin/python scripts/audit.py check

# The privacy claim, rerunnable (docs/security.md): a demo run, then its logs, metrics,
# decisions, state-table items and written files scanned for the sample's post texts,
# handles, names and e-mail addresses. Prints the hit count; fails unless it is 0.
privacy: $(STAMP)
	$(BIN)/socialcare privacy-scan --out privacy-out

print-py:
	@echo $(PY)

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache $(OUT) $(BENCH_OUT) sbom-*.json \
		privacy-out test-out
