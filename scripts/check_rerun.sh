#!/usr/bin/env bash
# CI check of the pipeline (run after `make test`, whose nbval step executed every notebook with
# the quick profile's parameters, training its models and writing each run's verdict rows):
# the report built from nbval's verdict files and `make -j2 all QUICK=1` (RUNS="j2 serial" for
# more), each from an empty results folder, must give byte-identical verdicts.csv, and no rerun
# may train a model (no cache entry appears or is rewritten); the executed notebooks must show
# no warnings and no absolute path of this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${VAE_CACHE_DIR:-.cache/models}"
out=$(python3 vae_utils/paths.py quick)
keep=build/check_rerun
rm -rf "$keep" && mkdir -p "$keep"
models() { find "$cache" -name run.json -printf '%P %T@\n' | sort; }
models > "$keep/models-before"
# run 0: the verdicts nbval's executions wrote (models trained in-process, not loaded)
test -d "$out/verdicts" || { echo "check_rerun: no verdicts in $out: run make nbval (make test) first" >&2; exit 1; }
.venv/bin/python scripts/report.py quick > /dev/null
cp "$out/verdicts.csv" "$keep/verdicts-0-nbval.csv"
n=0
for kind in ${RUNS:-j2}; do
  n=$((n + 1)); run=$n-$kind
  rm -rf "$out"
  start=$(date +%s)
  if [ "$kind" = serial ]; then make --no-print-directory all QUICK=1; else make --no-print-directory -j2 all QUICK=1; fi
  echo "check_rerun: make all QUICK=1 ($run) took $(( $(date +%s) - start )) s"
  cp "$out/verdicts.csv" "$keep/verdicts-$run.csv"
done
models > "$keep/models-after"
if ! diff -u "$keep/models-before" "$keep/models-after"; then
  echo "check_rerun: a rerun of make all QUICK=1 trained models (cache entries new or rewritten above)" >&2; exit 1
fi
first="$keep/verdicts-0-nbval.csv"
for other in "$keep"/verdicts-*.csv; do
  cmp "$first" "$other" || { echo "check_rerun: $other differs from $first" >&2; exit 1; }
done
# what a reader sees: no warnings (stderr) and no path of this machine in any executed notebook
.venv/bin/python - "$out/notebooks" "$(pwd)" <<'PY'
import json, pathlib, sys
folder, root = pathlib.Path(sys.argv[1]), sys.argv[2]
bad = []
for nb in sorted(folder.glob("*.ipynb")):
    for i, cell in enumerate(json.loads(nb.read_text())["cells"]):
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", "")) + json.dumps(out.get("data", {}))
            if out.get("name") == "stderr" or root in text:
                bad.append(f"{nb.name}, cell {i}: {text[:200]!r}")
if bad:
    sys.exit("check_rerun: executed notebooks show warnings or this machine's paths:\n" + "\n".join(bad))
PY
echo "check_rerun: $(($(wc -l < "$first") - 1)) verdict rows identical over runs: nbval ${RUNS:-j2};" \
     "$(wc -l < "$keep/models-after") cached models, none trained or rewritten"
