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
OUT      := $(if $(filter default,$(PROFILE)),results,results/profiles/$(PROFILE))

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
# One run per parameter file: params/<profile>/<notebook>[--<variant>].yaml -> <OUT>/notebooks/<same>.ipynb
PARAMS    := $(sort $(wildcard params/$(PROFILE)/*.yaml))
EXECUTED  := $(patsubst params/$(PROFILE)/%.yaml,$(OUT)/notebooks/%.ipynb,$(PARAMS))
notebook_of = notebooks/$(firstword $(subst --, ,$(1))).ipynb
LIBRARY   := $(wildcard vae_utils/*.py) scripts/run_notebook.py
NBVAL_DIR := build/nbval
export TQDM_DISABLE ?= 1

.PHONY: all help venv test unit nbval lab bench clean clean-cache check-params

check-params: # every notebook needs a parameter file in the profile, every parameter file a notebook
	@for nb in $(NOTEBOOKS); do name=$$(basename $$nb .ipynb); \
	  { ls params/$(PROFILE)/$$name.yaml params/$(PROFILE)/$$name--*.yaml 2>/dev/null || true; } | grep -q . || \
	  { echo "no parameter file params/$(PROFILE)/$$name[--variant].yaml for $$nb" >&2; exit 1; }; done
	@for p in $(PARAMS); do nb=$$(basename $$p .yaml); nb=notebooks/$${nb%%--*}.ipynb; \
	  test -f $$nb || { echo "$$p names no notebook ($$nb is missing)" >&2; exit 1; }; done

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

all: check-params $(OUT)/README.md ## run every notebook (PROFILE=default|quick|paper, or QUICK=1) into results/
	@echo "make all ($(PROFILE)): $(words $(EXECUTED)) notebook(s) up to date in $(OUT)/notebooks"

venv: $(STAMP) ## build .venv from environment.yml (automatic when a target needs it)

$(STAMP): environment.yml pyproject.toml scripts/env_to_pip.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) scripts/env_to_pip.py environment.yml > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet --progress-bar off --upgrade pip 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PY) -m pip install --quiet --progress-bar off -r $(VENV)/requirements.txt 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PY) -m pip install --quiet --progress-bar off --no-deps -e . 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PY) -c "import torch, torchvision, papermill, nbval, vae_utils; print('environment ready: torch', torch.__version__, 'torchvision', torchvision.__version__)"
	touch $@

# The generated report: verdicts, run times and key figures of the executed notebooks.
$(OUT)/README.md: $(EXECUTED) vae_utils/verdicts.py | $(STAMP)
	$(PY) -m vae_utils.verdicts $(PROFILE)

# One executed notebook: rebuilt when the notebook, its parameters or the library change.
.SECONDEXPANSION:
$(OUT)/notebooks/%.ipynb: $$(call notebook_of,$$*) params/$(PROFILE)/%.yaml $(LIBRARY) | $(STAMP)
	$(PY) scripts/run_notebook.py $< params/$(PROFILE)/$*.yaml $@

test: unit nbval ## unit tests of vae_utils, then nbval on every notebook (quick parameters)

unit: | $(STAMP) ## pytest on tests/
	$(PY) -m pytest -q tests

nbval: | $(STAMP) ## nbval (lax) on every notebook, prepared with the quick parameters
	rm -rf $(NBVAL_DIR) && mkdir -p $(NBVAL_DIR)
	for p in params/quick/*.yaml; do \
	  name=$$(basename $$p .yaml); \
	  $(PY) -m papermill --prepare-only --log-level WARNING -f $$p notebooks/$${name%%--*}.ipynb $(NBVAL_DIR)/$$name.ipynb; \
	done
	$(PY) -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env $(NBVAL_DIR)

lab: | $(STAMP) ## open the notebooks in JupyterLab
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

bench: | $(STAMP) ## training-speed benchmark (results/bench.csv); BENCH_ARGS="--paper-setting" adds the paper protocol
	$(PY) benchmarks/train_speed.py $(BENCH_ARGS)

clean: ## remove executed notebooks of the quick profile, build files and the nbval copies
	rm -rf build results/profiles .pytest_cache

clean-cache: ## remove trained models (forces retraining)
	rm -rf .cache/models
