"""Execute one notebook with papermill, safely: the Makefile's only way to run a notebook.

    python scripts/run_notebook.py NOTEBOOK PARAMS.yaml OUTPUT.ipynb

* parameter names are checked against the notebook's `parameters` cell (unknown → error);
* the kernel runs in notebooks/ (as in JupyterLab and nbval);
* the output is written under a temporary name and renamed only on success, so a failed
  run never leaves a file Make would take as finished;
* run metadata (git commit, versions, device, parameters, wall time) goes next to it.
"""
import os
import signal
import sys
import time
from pathlib import Path

import papermill as pm
import yaml

from vae_utils.reproducibility import write_run_metadata


def main(notebook, params_file, output):
    notebook, output = Path(notebook).resolve(), Path(output).resolve()
    with open(params_file) as fh:
        params = yaml.safe_load(fh) or {}
    declared = pm.inspect_notebook(str(notebook))
    unknown = sorted(set(params) - set(declared))
    if unknown:
        sys.exit(f"{params_file}: unknown parameter(s) {unknown} for {notebook.name}; "
                 f"allowed: {sorted(declared)}")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".tmp-{output.name}")   # still ends in .ipynb, as papermill wants
    os.environ.setdefault("TQDM_DISABLE", "1")
    # a killed run (Ctrl-C, SIGTERM) unwinds through the cleanup below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    start = time.perf_counter()
    try:
        pm.execute_notebook(str(notebook), str(tmp), parameters=params,
                            cwd=str(notebook.parent), kernel_name="python3", progress_bar=False)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - start
    meta_dir = output.parent.parent / "metadata"
    meta_dir.mkdir(exist_ok=True)
    write_run_metadata(meta_dir / f"{output.stem}.json", notebook=notebook.name,
                       parameters=params, wall_seconds=round(seconds, 1))
    os.replace(tmp, output)
    print(f"{notebook.name}: {seconds:.1f} s ({params_file})")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
