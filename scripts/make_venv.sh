#!/usr/bin/env bash
# Build .venv from requirements.lock (every package pinned, hash-checked), then vae_utils itself.
#   scripts/make_venv.sh [VENV]        (the Makefile's `make venv`; PYTHON=python3.12 picks the interpreter)
# The venv records a digest of what it was built from (the lock, pyproject.toml); when that digest is
# unchanged, nothing is installed, so a fresh clone beside a built .venv, or a forced rerun, reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
python=${PYTHON:-python3}
stamp=$venv/.installed
pins=$(python3 scripts/env_to_pip.py environment.yml | sha256sum | cut -d' ' -f1)
if [ "$(sed -n 3p requirements.lock)" != "# $pins" ]; then
  echo "make venv: requirements.lock was not made from today's environment.yml; run \`make lock\` (needs PyPI)" >&2
  exit 1
fi
digest=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$digest" ]; then
  touch "$stamp"
  echo "environment $venv: already built from this requirements.lock"
  exit 0
fi
command -v "$python" > /dev/null || { echo "make venv: no '$python' on the PATH; install Python 3.11-3.13 or set PYTHON=/path/to/python3.11" >&2; exit 1; }
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case $version in
  3.11|3.12|3.13) ;;
  *) echo "make venv: $python is Python $version; the lock is made for Python 3.11-3.13 (torch 2.14 wheels)." \
          "Install one and run: make venv PYTHON=python3.11" >&2; exit 1 ;;
esac
start=$(date +%s)
rm -f "$stamp"
test -x "$venv/bin/python" || "$python" -m venv "$venv"
quiet() { "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }; }
quiet "$venv/bin/python" -m pip install --quiet --progress-bar off 'pip==25.3'
quiet "$venv/bin/python" -m pip install --quiet --progress-bar off --require-hashes -r requirements.lock
quiet "$venv/bin/python" -m pip install --quiet --progress-bar off --no-deps -e .
"$venv/bin/python" -c "import torch, torchvision, papermill, nbval, vae_utils; print('environment ready: torch', \
torch.__version__, 'torchvision', torchvision.__version__)"
echo "$digest" > "$stamp"
echo "environment $venv built in $(( $(date +%s) - start )) s ($(du -sh "$venv" | cut -f1))"
