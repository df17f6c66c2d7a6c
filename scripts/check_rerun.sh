#!/usr/bin/env bash
# CI check of the pipeline (run after `make test`, whose nbval step executed every notebook with
# the quick profile's parameters, training its models in-process and writing each run's verdict
# rows): the models of the runs in CHECK_RUNS (default: every quick run except Fashion-MNIST's,
# whose code paths are MNIST's) are trained again into a fresh cache by `make train` as jobs
# through submitit's local executor (VAE_EXECUTOR=local:2, two at a time); the runs are then
# executed by `make -j2` from that cache (RUNS="j2 serial" for more passes); each run's verdict
# rows must be byte-identical to nbval's, and no run may train a model (no cache entry appears or
# is rewritten); the executed notebooks must show no warnings and no
# absolute path of this machine; the report must build from the verdicts, and every executed
# notebook must print its rows of the report's verdicts.csv (scripts/check_printed.py).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(python3 vae_utils/config/paths.py quick)
keep=build/check_rerun
rm -rf "$keep" && mkdir -p "$keep"
export VAE_CACHE_DIR="$(pwd)/$keep/cache"        # fresh: only what make train puts there
models() { find "$VAE_CACHE_DIR" -name run.json -printf '%P %T@\n' | sort; }
runs=${CHECK_RUNS:-$(ls params/quick/[0-9]*.yaml | xargs -n1 basename | sed 's/\.yaml$//' | grep -v fashion_mnist)}
# run 0 below: the verdicts nbval's executions wrote (models trained in-process, not loaded)
test -d "$out/verdicts" || { echo "check_rerun: no verdicts in $out: run make nbval (make test) first" >&2; exit 1; }
start=$(date +%s)
VAE_EXECUTOR=local:2 make --no-print-directory QUICK=1 train RUNS="$(echo $runs)"
echo "check_rerun: the runs' models trained as jobs (local:2) in $(( $(date +%s) - start )) s"
models > "$keep/models-before"
# run 0: the verdicts nbval's executions wrote (models trained in-process, not loaded)
mkdir -p "$keep/0-nbval"
copy_verdicts() {   # the runs' verdict files (a run without verdicts, e.g. the theory notebook, has none)
  for run in $runs; do if [ -f "$out/verdicts/$run.csv" ]; then cp "$out/verdicts/$run.csv" "$1/"; fi; done
}
copy_verdicts "$keep/0-nbval"
n=0
for kind in ${RUNS:-j2}; do
  n=$((n + 1)); pass=$n-$kind
  targets=""
  for run in $runs; do rm -f "$out/notebooks/$run.ipynb" "$out/verdicts/$run.csv"; targets="$targets $out/notebooks/$run.ipynb"; done
  start=$(date +%s)
  if [ "$kind" = serial ]; then make --no-print-directory QUICK=1 $targets; else make --no-print-directory -j2 QUICK=1 $targets; fi
  echo "check_rerun: $(echo $runs | wc -w) quick runs again ($pass) in $(( $(date +%s) - start )) s"
  mkdir -p "$keep/$pass"
  copy_verdicts "$keep/$pass"
done
.venv/bin/python scripts/report.py quick > /dev/null
.venv/bin/python scripts/check_printed.py quick      # each notebook prints the rows the report counts
models > "$keep/models-after"
if ! diff -u "$keep/models-before" "$keep/models-after"; then
  echo "check_rerun: a run after make train trained models (cache entries new or rewritten above)" >&2; exit 1
fi
for pass in "$keep"/[1-9]*/; do
  diff -r "$keep/0-nbval" "$pass" || { echo "check_rerun: verdicts of $pass differ from nbval's" >&2; exit 1; }
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
echo "check_rerun: $(cat "$keep"/0-nbval/*.csv | grep -vc '^notebook,') verdict rows of $(echo $runs | wc -w) runs" \
     "identical over passes: nbval (serial, in-process) and ${RUNS:-j2} (models from make train's jobs);" \
     "$(wc -l < "$keep/models-after") cached models, none trained or rewritten by the runs"
