# vae-understanding: `make all` runs the study, `make test` checks it. `make help` lists targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

VENV     := .venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.installed
# Profiles: default (the study sized for a 2-core CPU), quick (QUICK=1: tiny, for CI and
# smoke runs), paper (the original protocol, for GPU users: PROFILE=paper).
ifeq ($(QUICK),1)
PROFILE  := quick
endif
PROFILE  ?= default
# DRY=1: the profile's dry run (every run, its real grid, tiny budgets from params/dry.yaml) into
# results/profiles/<profile>-dry/, e.g. `make all PROFILE=paper DRY=1` (CI runs it on every commit).
ifeq ($(DRY),1)
override PROFILE := $(PROFILE)-dry
endif
BASE     := $(patsubst %-dry,%,$(PROFILE))
DRY_DEPS := $(if $(filter-out $(BASE),$(PROFILE)),params/dry.yaml)
# The profile's results folder, from the one place that knows it (vae_utils/config/paths.py).
OUT      := $(shell python3 vae_utils/config/paths.py $(PROFILE))
$(if $(OUT),,$(error PROFILE=$(PROFILE) is not known; allowed: default, quick, paper (DRY=1: its dry run)))

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
# One run per parameter file: params/<profile>/<notebook>[--<variant>].yaml -> <OUT>/notebooks/<same>.ipynb;
# params/<profile>/protocol.yaml is the training protocol every run of the profile shares.
PARAMS    := $(sort $(wildcard params/$(BASE)/[0-9]*.yaml))
PROTOCOL  := params/$(BASE)/protocol.yaml
RUNS      := $(patsubst params/$(BASE)/%.yaml,%,$(PARAMS))
NB_OUT    := $(shell python3 vae_utils/config/paths.py $(PROFILE) notebooks)
EXECUTED  := $(patsubst %,$(NB_OUT)/%.ipynb,$(RUNS))
notebook_of = notebooks/$(firstword $(subst --, ,$(1))).ipynb
LIBRARY   := $(wildcard vae_utils/*.py vae_utils/*/*.py) scripts/run_notebook.py
NBVAL_DIR := build/nbval
LINTED    := vae_utils scripts tests benchmarks notebooks
export TQDM_DISABLE ?= 1

.PHONY: all help venv lock data test unit nbval lint lab site bench dry-run train status clean clean-cache check-params .FORCE_RUN

check-params: | $(STAMP) ## check every run's parameter and protocol files (names, types), before any training
	@test -f $(PROTOCOL) || { echo "missing $(PROTOCOL) (the profile's training protocol)" >&2; exit 1; }
	@for nb in $(NOTEBOOKS); do name=$$(basename $$nb .ipynb); \
	  { ls params/$(BASE)/$$name.yaml params/$(BASE)/$$name--*.yaml 2>/dev/null || true; } | grep -q . || \
	  { echo "no parameter file params/$(BASE)/$$name[--variant].yaml for $$nb" >&2; exit 1; }; done
	@$(PY) scripts/run_notebook.py $(PROFILE) --check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

all: check-params data $(OUT)/README.md ## run every notebook (PROFILE=default|quick|paper, or QUICK=1; FORCE=1 reruns all) into results/
	@echo "make all ($(PROFILE)): $(words $(EXECUTED)) notebook(s) up to date in $(NB_OUT)"

venv: $(STAMP) ## build .venv from requirements.lock, hash-checked (automatic when a target needs it)

# The recipe installs nothing when the venv was built from this very lock (a digest, not a date), so
# a fresh clone beside a built .venv or a forced rerun never reinstalls it.
$(STAMP): requirements.lock environment.yml pyproject.toml scripts/make_venv.sh
	scripts/make_venv.sh $(VENV)

UV := build/uv/bin/uv
$(UV):
	python3 -m venv build/uv
	build/uv/bin/python -m pip install --quiet --progress-bar off 'uv==0.13.*' 2>&1 | { grep -v "^WARNING: Location" || true; }

lock: $(UV) ## requirements.lock from environment.yml: every package pinned, with hashes (uv; needs PyPI)
	python3 scripts/env_to_pip.py environment.yml > build/requirements.in
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes --no-header \
	  build/requirements.in -o build/requirements.lock
	{ echo "# requirements.lock: made by \`make lock\` from environment.yml; do not edit. \`make venv\` installs it with"; \
	  echo "# pip --require-hashes. The sha256 of environment.yml's pins as pip requirements (scripts/env_to_pip.py):"; \
	  echo "# $$(sha256sum < build/requirements.in | cut -d' ' -f1)"; cat build/requirements.lock; } > requirements.lock

data: | $(STAMP) ## fetch MNIST, Fashion-MNIST and Frey Face into data/ and verify them (or verify $$VAE_DATA_DIR)
	$(PY) -m vae_utils.core.fetch

# The generated report: verdicts.csv and README.md from exactly this profile's runs (the
# folder params/<profile> is a prerequisite so that a deleted parameter file counts as a change).
$(OUT)/README.md: $(EXECUTED) scripts/report.py params/$(BASE) | $(STAMP)
	$(PY) scripts/report.py $(PROFILE)

# One executed notebook: rebuilt when the notebook, its parameters, the protocol, the library or the
# parameter files of the other runs on its dataset (they split α in its multiplicity families) change
# (by date; the run itself then skips when a digest of its inputs is unchanged: `make all FORCE=1`
# re-executes everything, and never rebuilds the environment); every run's files are checked and
# the data fetched first (order-only: never makes a run out of date).
dataset_of  = $(lastword $(subst --, ,$(1)))
siblings_of = $(filter-out params/$(BASE)/$(1).yaml,$(wildcard params/$(BASE)/[0-9]*--$(call dataset_of,$(1)).yaml))
sibling_notebooks = $(foreach s,$(call siblings_of,$(1)),$(call notebook_of,$(basename $(notdir $(s)))))
FORCED := $(if $(filter 1,$(FORCE)),.FORCE_RUN)
.FORCE_RUN: ;
.SECONDEXPANSION:
$(NB_OUT)/%.ipynb: $$(call notebook_of,$$*) params/$(BASE)/%.yaml $$(call siblings_of,$$*) $$(call sibling_notebooks,$$*) $(PROTOCOL) $(DRY_DEPS) $(LIBRARY) $(FORCED) | $(STAMP) check-params data
	$(PY) scripts/run_notebook.py $(PROFILE) $* $(if $(filter 1,$(FORCE)),--force)

test: ## lint, unit tests of vae_utils and nbval on every notebook (quick parameters), two at a time
	$(MAKE) --no-print-directory -j2 --output-sync=target lint unit nbval

unit: | $(STAMP) ## pytest on tests/
	$(PY) -m pytest -q tests

nbval: | $(STAMP) ## nbval (lax) on every notebook, prepared with the quick profile's parameters
	rm -rf $(NBVAL_DIR) $(shell python3 vae_utils/config/paths.py quick) && mkdir -p $(NBVAL_DIR)
	for p in params/quick/[0-9]*.yaml; do \
	  run=$$(basename $$p .yaml); \
	  $(PY) scripts/run_notebook.py quick $$run --prepare-only $(NBVAL_DIR)/$$run.ipynb; \
	done
	$(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env $(NBVAL_DIR)

train: check-params data ## prefill the cache: every model the profile's runs need (VAE_EXECUTOR=serial|local:N|slurm; RUNS="..." for some)
	$(PY) scripts/train.py $(PROFILE) $(RUNS) $(if $(filter 1,$(NO_WAIT)),--no-wait)

DRY_MODELS = find $(shell python3 vae_utils/config/paths.py paper-dry)/models -name run.json -printf '%P %T@\n' | sort

dry-run: | $(STAMP) ## the paper profile's dry run from scratch: its models as jobs (make train, local:2), then every run, checked; about 8 minutes on 2 cores
	rm -rf $(shell python3 vae_utils/config/paths.py paper-dry) && mkdir -p build
	start=$$(date +%s); VAE_EXECUTOR=$${VAE_EXECUTOR:-local:2} $(MAKE) --no-print-directory train PROFILE=paper DRY=1 && \
	  echo "paper dry run: models trained in $$(( $$(date +%s) - start )) s" && $(DRY_MODELS) > build/dry-run-models && \
	  $(MAKE) --no-print-directory -j2 all PROFILE=paper DRY=1 && $(DRY_MODELS) | diff build/dry-run-models - && \
	  $(PY) scripts/check_dry_run.py paper && echo "paper dry run finished in $$(( $$(date +%s) - start )) s;" \
	  "its runs trained nothing that make train had not"

lint: | $(STAMP) ## ruff on the library, scripts, tests, benchmarks and notebooks
	$(VENV)/bin/ruff check $(LINTED)

lab: | $(STAMP) ## open JupyterLab at the repository root (notebooks/ to run, results/notebooks/ to read)
	$(VENV)/bin/jupyter lab --notebook-dir=.

site: | $(STAMP) ## website of the README, findings, docs and executed notebooks (not rerun) in build/site/_build/html
	$(PY) scripts/build_site.py build/site

status: | $(STAMP) ## which committed results of PROFILE are current, stale (and which input changed) or missing; trains nothing
	$(PY) scripts/status.py $(PROFILE)

bench: | $(STAMP) ## training-speed benchmark (results/bench.csv), then where a CPU step's time goes (results/bench-cpu-step.csv); BENCH_ARGS="--paper-setting" adds the paper protocol
	$(PY) benchmarks/train_speed.py $(BENCH_ARGS)
	$(PY) benchmarks/cpu_step.py

clean: ## remove the quick profile's results, build files and the nbval copies
	rm -rf build $(shell python3 vae_utils/config/paths.py quick) .pytest_cache

clean-cache: ## remove trained models (forces retraining)
	rm -rf .cache/models
