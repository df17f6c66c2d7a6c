"""Execute one notebook run of a profile with papermill: the Makefile's only way to run a notebook.

    python scripts/run_notebook.py PROFILE RUN                      # -> <profile's results>/notebooks/RUN.ipynb
    python scripts/run_notebook.py PROFILE RUN --prepare-only OUT   # parameters injected, not executed (nbval)

RUN names the parameter file params/PROFILE/RUN.yaml and the notebook notebooks/<RUN up to "--">.ipynb.
A name in the run's file that the notebook does not declare is an error. The profile is injected
as the `profile` parameter, so no parameter file repeats it; the notebook reads the profile's
training protocol (params/PROFILE/protocol.yaml, `vae_utils.protocol`) itself, and the metadata
records the protocol the run used.

* the kernel runs in notebooks/ (as in JupyterLab and nbval);
* the notebook is executed into a temporary folder under build/ and moved into place only on
  success, so a failed or killed run never leaves a file that Make would take as finished;
* run metadata (git commit, versions, processor, parameters, wall time) goes next to it.
"""
import argparse
import ast
import os
import shutil
import signal
import sys
import tempfile
import time

import papermill as pm
import yaml

from vae_utils import paths, protocol
from vae_utils.reproducibility import write_run_metadata


def read_yaml(path):
    with open(path) as fh:
        return yaml.safe_load(fh) or {}


def parameters(profile, run, declared):
    """The run's own parameters (names the notebook declares, else an error) and the profile."""
    own = read_yaml(paths.PROJECT_ROOT / "params" / profile / f"{run}.yaml")
    unknown = sorted(set(own) - set(declared))
    if unknown:
        sys.exit(f"params/{profile}/{run}.yaml: unknown parameter(s) {unknown}; allowed: {sorted(declared)}")
    if "profile" in declared:
        own["profile"] = profile
    return own


def protocol_of(params, declared):
    """The training protocol the run uses (for its metadata), or None for a notebook without one."""
    if "protocol" not in declared:
        return None
    dataset = params.get("dataset") or ast.literal_eval(declared["dataset"]["default"])
    return protocol.load(params.get("profile", "default"), dataset, params.get("protocol"))


def notebook_of(run):
    path = paths.PROJECT_ROOT / "notebooks" / f"{run.split('--')[0]}.ipynb"
    if not path.exists():
        sys.exit(f"run {run!r} names no notebook (notebooks/{path.name} is missing)")
    return path


def execute(profile, run, prepare_only=None):
    """Run `run` of `profile` into its results folder (or only prepare it, into `prepare_only`)."""
    paths.check_profile(profile)
    notebook = notebook_of(run)
    declared = pm.inspect_notebook(str(notebook))
    params = parameters(profile, run, declared)
    used_protocol = protocol_of(params, declared)          # checks protocol.yaml before running
    quiet = dict(kernel_name="python3", progress_bar=False, log_output=False)
    if prepare_only:
        pm.execute_notebook(str(notebook), str(prepare_only), parameters=params, prepare_only=True, **quiet)
        return None
    output = paths.output_dir(profile, "notebooks") / f"{run}.ipynb"
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ["VAE_RUN"] = run                         # the notebook's verdicts are this run's
    build = paths.PROJECT_ROOT / "build"
    build.mkdir(exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix=f"run-{run}-", dir=build)
    try:
        tmp = os.path.join(tmp_dir, output.name)
        start = time.perf_counter()
        # --log-level=ERROR: no "Kernel is running over TCP without encryption" in every run
        pm.execute_notebook(str(notebook), tmp, parameters=params, cwd=str(notebook.parent),
                            extra_arguments=["--log-level=ERROR"], **quiet)
        seconds = time.perf_counter() - start
        write_run_metadata(paths.output_dir(profile, "metadata") / f"{run}.json", notebook=notebook.name,
                           profile=profile, parameters=params, protocol=used_protocol,
                           wall_seconds=round(seconds, 1))
        os.replace(tmp, output)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", choices=paths.PROFILES)
    parser.add_argument("run", help="parameter file stem, e.g. 02_ae_vs_vae_depth--mnist")
    parser.add_argument("--prepare-only", metavar="OUT", help="write the parameterised notebook to OUT")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # a killed run unwinds through cleanup
    seconds = execute(args.profile, args.run, args.prepare_only)
    if seconds is not None:
        print(f"{args.run} ({args.profile}): {seconds:.1f} s")


if __name__ == "__main__":
    main()
