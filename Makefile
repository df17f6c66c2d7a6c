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
# The profile's results folder, from the one place that knows it (vae_utils/paths.py).
OUT      := $(shell python3 vae_utils/paths.py $(PROFILE))
$(if $(OUT),,$(error PROFILE=$(PROFILE) is not known; allowed: default, quick, paper (DRY=1: its dry run)))

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
# One run per parameter file: params/<profile>/<notebook>[--<variant>].yaml -> <OUT>/notebooks/<same>.ipynb;
# params/<profile>/protocol.yaml is the training protocol every run of the profile shares.
PARAMS    := $(sort $(wildcard params/$(BASE)/[0-9]*.yaml))
PROTOCOL  := params/$(BASE)/protocol.yaml
RUNS      := $(patsubst params/$(BASE)/%.yaml,%,$(PARAMS))
NB_OUT    := $(shell python3 vae_utils/paths.py $(PROFILE) notebooks)
EXECUTED  := $(patsubst %,$(NB_OUT)/%.ipynb,$(RUNS))
notebook_of = notebooks/$(firstword $(subst --, ,$(1))).ipynb
LIBRARY   := $(wildcard vae_utils/*.py) scripts/run_notebook.py
NBVAL_DIR := build/nbval
LINTED    := vae_utils scripts tests benchmarks notebooks
export TQDM_DISABLE ?= 1

.PHONY: all help venv test unit nbval lint lab bench clean clean-cache check-params

check-params: | $(STAMP) ## check every run's parameter and protocol files (names, types), before any training
	@test -f $(PROTOCOL) || { echo "missing $(PROTOCOL) (the profile's training protocol)" >&2; exit 1; }
	@for nb in $(NOTEBOOKS); do name=$$(basename $$nb .ipynb); \
	  { ls params/$(BASE)/$$name.yaml params/$(BASE)/$$name--*.yaml 2>/dev/null || true; } | grep -q . || \
	  { echo "no parameter file params/$(BASE)/$$name[--variant].yaml for $$nb" >&2; exit 1; }; done
	@$(PY) scripts/run_notebook.py $(PROFILE) --check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

all: check-params $(OUT)/README.md ## run every notebook (PROFILE=default|quick|paper, or QUICK=1) into results/
	@echo "make all ($(PROFILE)): $(words $(EXECUTED)) notebook(s) up to date in $(NB_OUT)"

venv: $(STAMP) ## build .venv from environment.yml (automatic when a target needs it)

$(STAMP): environment.yml pyproject.toml scripts/env_to_pip.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) scripts/env_to_pip.py environment.yml > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet --progress-bar off --upgrade pip 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PY) -m pip install --quiet --progress-bar off -r $(VENV)/requirements.txt 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PY) -m pip install --quiet --progress-bar off --no-deps -e . 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PY) -c "import torch, torchvision, papermill, nbval, vae_utils; print('environment ready: torch', torch.__version__, 'torchvision', torchvision.__version__)"
	touch $@

# The generated report: verdicts.csv and README.md from exactly this profile's runs (the
# folder params/<profile> is a prerequisite so that a deleted parameter file counts as a change).
$(OUT)/README.md: $(EXECUTED) scripts/report.py params/$(BASE) | $(STAMP)
	$(PY) scripts/report.py $(PROFILE)

# One executed notebook: rebuilt when the notebook, its parameters, the protocol or the library change
# (by date; the run itself then skips when a digest of its inputs is unchanged: `make -B all FORCE=1`
# re-executes everything); every run's files are checked first (order-only: never makes a run out of date).
.SECONDEXPANSION:
$(NB_OUT)/%.ipynb: $$(call notebook_of,$$*) params/$(BASE)/%.yaml $(PROTOCOL) $(DRY_DEPS) $(LIBRARY) | $(STAMP) check-params
	$(PY) scripts/run_notebook.py $(PROFILE) $* $(if $(filter 1,$(FORCE)),--force)

test: lint unit nbval ## lint, unit tests of vae_utils, then nbval on every notebook (quick parameters)

unit: | $(STAMP) ## pytest on tests/
	$(PY) -m pytest -q tests

nbval: | $(STAMP) ## nbval (lax) on every notebook, prepared with the quick profile's parameters
	rm -rf $(NBVAL_DIR) $(shell python3 vae_utils/paths.py quick) && mkdir -p $(NBVAL_DIR)
	for p in params/quick/[0-9]*.yaml; do \
	  run=$$(basename $$p .yaml); \
	  $(PY) scripts/run_notebook.py quick $$run --prepare-only $(NBVAL_DIR)/$$run.ipynb; \
	done
	$(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env $(NBVAL_DIR)

lint: | $(STAMP) ## ruff on the library, scripts, tests, benchmarks and notebooks
	$(VENV)/bin/ruff check $(LINTED)

lab: | $(STAMP) ## open JupyterLab at the repository root (notebooks/ to run, results/notebooks/ to read)
	$(VENV)/bin/jupyter lab --notebook-dir=.

bench: | $(STAMP) ## training-speed benchmark (results/bench.csv); BENCH_ARGS="--paper-setting" adds the paper protocol
	$(PY) benchmarks/train_speed.py $(BENCH_ARGS)

clean: ## remove the quick profile's results, build files and the nbval copies
	rm -rf build $(shell python3 vae_utils/paths.py quick) .pytest_cache

clean-cache: ## remove trained models (forces retraining)
	rm -rf .cache/models
