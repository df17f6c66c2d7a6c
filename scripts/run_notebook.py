"""Execute one notebook run of a profile with papermill: the Makefile's only way to run a notebook.

    python scripts/run_notebook.py PROFILE RUN                      # -> <profile's results>/notebooks/RUN.ipynb
    python scripts/run_notebook.py PROFILE RUN --prepare-only OUT   # parameters injected, not executed (nbval)
    python scripts/run_notebook.py PROFILE --check                  # check every run's files, run nothing

RUN names the parameter file params/PROFILE/RUN.yaml and the notebook notebooks/<RUN up to "--">.ipynb.
A name in the run's file that the notebook does not declare, or a value of another type than the
notebook's default, is an error naming the file. The profile is injected as the `profile`
parameter, so no parameter file repeats it; the notebook reads the profile's training protocol
(params/PROFILE/protocol.yaml, `vae_utils.protocol`) itself, and the metadata records the
protocol the run used. PROFILE may be `<profile>-dry`: the profile's own files on the tiny
budgets of params/dry.yaml, with its own model cache, into results/profiles/<profile>-dry/.

* the kernel runs in notebooks/ (as in JupyterLab and nbval);
* every output of the run (tables, figures, verdicts, metadata, the executed notebook) is
  written into a staging folder build/run-<RUN>-*/ and moved into the results folder only when
  the run succeeds, the executed notebook last (Make's mark of a finished run; the old one is
  removed first), so a failed or killed run changes nothing in results/; staging folders left
  by killed runs are removed when the next run starts;
* cache events (entries refused and retrained) are printed on the console and kept in the metadata.
"""
import argparse
import ast
import fcntl
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import papermill as pm

from vae_utils import paths, protocol
from vae_utils.reproducibility import write_run_metadata

BUILD = paths.PROJECT_ROOT / "build"
TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list,), "dict": (dict,)}


def run_file(profile, run):
    return paths.PROJECT_ROOT / "params" / paths.params_profile(profile) / f"{run}.yaml"


def runs_of(profile):
    """Every run of a profile: the stems of params/<profile>/[0-9]*.yaml."""
    folder = paths.PROJECT_ROOT / "params" / paths.params_profile(profile)
    return sorted(p.stem for p in folder.glob("[0-9]*.yaml"))


def check_types(path, own, declared):
    """ValueError naming `path` for a value whose type differs from the type of the notebook's
    default (a default of None takes anything; an integer is a float; a bool is not an integer)."""
    for name, value in own.items():
        try:
            default = ast.literal_eval(declared[name]["default"])
        except (ValueError, SyntaxError):          # a default that is an expression: not checked
            continue
        allowed = TYPES.get(type(default).__name__)
        if value is None or default is None or allowed is None:
            continue
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise ValueError(f"{path.relative_to(paths.PROJECT_ROOT)}: {name}={value!r} is not allowed; the notebook "
                             f"declares it as {type(default).__name__} (default {default!r})")


def parameters(profile, run, declared):
    """The run's own parameters (names the notebook declares, of its types, else an error naming
    the file), a dry run's replacements, and the profile."""
    path = run_file(profile, run)
    if not path.exists():
        raise ValueError(f"run {run!r} has no parameter file {path.relative_to(paths.PROJECT_ROOT)}")
    own = protocol.read_yaml(path, f"the parameters of run {run}")
    unknown = sorted(set(own) - set(declared))
    if unknown:
        raise ValueError(f"{path.relative_to(paths.PROJECT_ROOT)}: unknown parameter(s) {unknown}; "
                         f"allowed: {sorted(declared)}")
    check_types(path, own, declared)
    if paths.is_dry(profile):
        dry = protocol.dry_overlay().get("parameters", {})
        own.update({k: v for k, v in dry.items() if k in declared})
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
        raise ValueError(f"run {run!r} names no notebook (notebooks/{path.name} is missing)")
    return path


def check_run(profile, run):
    """(notebook, parameters, protocol) of a run, every file checked; ValueError otherwise."""
    paths.check_profile(profile)
    notebook = notebook_of(run)
    declared = pm.inspect_notebook(str(notebook))
    params = parameters(profile, run, declared)
    return notebook, params, protocol_of(params, declared)


def dry_environment(profile):
    """A dry run's data limit and model cache (its own, inside its results folder)."""
    if not paths.is_dry(profile):
        return {}
    images = protocol.dry_overlay()["images"]
    return {"VAE_DATA_LIMIT": f"{images['train']},{images['test']}",
            "VAE_CACHE_DIR": str(paths.published_dir(profile) / "models")}


def remove_stale_staging():
    """Remove staging folders of runs that died (their lock is free); a live run holds its lock."""
    for folder in BUILD.glob("run-*"):
        lock = folder / ".lock"
        if not lock.exists():
            if time.time() - folder.stat().st_mtime > 60:      # older layout, or a run killed as it began
                shutil.rmtree(folder, ignore_errors=True)
            continue
        with open(lock, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            shutil.rmtree(folder, ignore_errors=True)


def publish(stage, notebook, profile, run):
    """Move a finished run's staged outputs into the profile's results folder, the notebook last."""
    final = paths.published_dir(profile)
    output = final / "notebooks" / f"{run}.ipynb"
    output.unlink(missing_ok=True)               # a run half-moved by a kill is seen as not finished
    for path in sorted(p for p in stage.rglob("*") if p.is_file()):
        target = final / path.relative_to(stage)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
    output.parent.mkdir(parents=True, exist_ok=True)
    os.replace(notebook, output)
    return output


def execute(profile, run, prepare_only=None):
    """Run `run` of `profile` into its results folder (or only prepare it, into `prepare_only`)."""
    notebook, params, used_protocol = check_run(profile, run)
    quiet = dict(kernel_name="python3", progress_bar=False, log_output=False)
    if prepare_only:
        pm.execute_notebook(str(notebook), str(prepare_only), parameters=params, prepare_only=True, **quiet)
        return None
    BUILD.mkdir(exist_ok=True)
    remove_stale_staging()
    work = Path(tempfile.mkdtemp(prefix=f"run-{run}-", dir=BUILD))
    lock = open(work / ".lock", "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    stage, events = work / "outputs", work / "events.log"
    saved = dict(os.environ)
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.update({"VAE_RUN": run, paths.STAGE_ENV: str(stage), **dry_environment(profile)})
    try:
        tmp = work / f"{run}.ipynb"
        start = time.perf_counter()
        try:
            # --log-level=ERROR: no "Kernel is running over TCP without encryption" in every run
            pm.execute_notebook(str(notebook), str(tmp), parameters=params, cwd=str(notebook.parent),
                                extra_arguments=["--log-level=ERROR"], **quiet)
        finally:
            lines = events.read_text().splitlines() if events.exists() else []
            for line in lines:
                print(f"{run}: {line}", file=sys.stderr)
        seconds = time.perf_counter() - start
        write_run_metadata(paths.output_dir(profile, "metadata") / f"{run}.json", notebook=notebook.name,
                           profile=profile, parameters=params, protocol=used_protocol,
                           wall_seconds=round(seconds, 1), cache_events=lines)
        publish(stage, tmp, profile, run)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(work, ignore_errors=True)
        lock.close()
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("run", nargs="?", help="parameter file stem, e.g. 02_ae_vs_vae_depth--mnist")
    parser.add_argument("--prepare-only", metavar="OUT", help="write the parameterised notebook to OUT")
    parser.add_argument("--check", action="store_true", help="check every run of the profile, run nothing")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # a killed run unwinds through cleanup
    try:
        if args.check:
            for run in runs_of(args.profile):
                check_run(args.profile, run)
            print(f"{len(runs_of(args.profile))} run(s) of profile {args.profile}: parameter files check out")
            return
        if not args.run:
            parser.error("name a RUN, or pass --check")
        seconds = execute(args.profile, args.run, args.prepare_only)
    except ValueError as err:
        sys.exit(f"run_notebook: {err}")
    if seconds is not None:
        print(f"{args.run} ({args.profile}): {seconds:.1f} s")


if __name__ == "__main__":
    main()
