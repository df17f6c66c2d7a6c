"""Execute one notebook run of a profile with papermill: the Makefile's only way to run a notebook.

    python scripts/run_notebook.py PROFILE RUN                      # -> <profile's results>/notebooks/RUN.ipynb
    python scripts/run_notebook.py PROFILE RUN --prepare-only OUT   # parameters injected, not executed (nbval)
    python scripts/run_notebook.py PROFILE --check                  # check every run's files, run nothing

RUN names the parameter file params/PROFILE/RUN.yaml and the notebook notebooks/<RUN up to "--">.ipynb.
A name in the run's file that the notebook does not declare, or a value of another type than the
notebook's default, is an error naming the file. The profile is injected as the `profile`
parameter, so no parameter file repeats it; the notebook reads the profile's training protocol
(params/PROFILE/protocol.yaml, `vae_utils.config.protocol`) itself, and the metadata records the
protocol the run used. PROFILE may be `<profile>-dry`: the profile's own files on the tiny
budgets of params/dry.yaml, with its own model cache, into results/profiles/<profile>-dry/.

* the kernel runs in notebooks/ (as in JupyterLab and nbval);
* every output of the run (tables, figures, verdicts, metadata, the executed notebook) is
  written into a staging folder build/run-<RUN>-*/ and moved into the results folder only when
  the run succeeds, the executed notebook last (Make's mark of a finished run; the old one is
  removed first), so a failed or killed run changes nothing in results/; staging folders left
  by killed runs are removed when the next run starts;
* cache events (entries refused and retrained) are printed on the console and kept in the metadata;
* the metadata records the digests of the run's inputs (`vae_utils.engine.inputs`: notebook cells,
  run and protocol files, the library's code without comments and docstrings, package versions,
  device) and their one digest; a run whose published results carry the same digest is not
  executed again (--force does), so a comment edit re-executes nothing. `make status` reads them.
"""
import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import papermill as pm
from filelock import FileLock, Timeout

from vae_utils.config import lab_format, paths, protocol, runspec
from vae_utils.config.runspec import notebook_of, runs_of, shown
from vae_utils.engine import inputs
from vae_utils.engine.progress import EVERY_ENV, FILE_ENV

BUILD = paths.PROJECT_ROOT / "build"
def check_dry_parameters(profile):
    """ValueError for a parameter of params/dry.yaml that no notebook of `profile` declares."""
    declared = set()
    for notebook in {notebook_of(run) for run in runs_of(profile)}:    # each notebook once
        declared |= set(pm.inspect_notebook(str(notebook)))
    unknown = sorted(set(protocol.dry_overlay().get("parameters", {})) - declared)
    if unknown:
        raise ValueError(f"{shown(protocol.dry_file())}: parameter(s) {unknown} are declared "
                         f"by no notebook; allowed: {sorted(declared)}")


def check_run(profile, run):
    """(notebook, parameters, protocol) of a run, every file checked (`vae_utils.config.runspec.resolve`);
    ValueError otherwise."""
    spec = runspec.resolve(profile, run)
    return spec.notebook, spec.parameters, spec.protocol


def check_profile(profile):
    """Check every value of every run file of `profile` and of its protocol (and params/dry.yaml for
    a dry run): one line per problem on stderr, naming file, field, value and what is allowed; the
    exit status (0: all fine)."""
    found = [str(p) for p in protocol.file_problems(profile)]
    protocol_bad = bool(found)
    for run in runs_of(profile):
        found += runspec.problems(profile, run, protocol_checked=protocol_bad)
    if paths.is_dry(profile):
        try:
            check_dry_parameters(profile)
        except ValueError as err:
            found.append(str(err))
    found = list(dict.fromkeys(found))
    for line in found:
        print(line, file=sys.stderr)
    if found:
        print(f"run_notebook: {len(found)} problem(s) in the files of profile {profile}; nothing was run",
              file=sys.stderr)
        return 1
    print(f"{len(runs_of(profile))} run(s) of profile {profile}: every value of their files checks out")
    return 0


@contextlib.contextmanager
def staging_lock():
    """Held while staging folders are cleaned or created, so that no run takes another's
    folder for a dead one in the moment between its creation and its own lock."""
    with FileLock(BUILD / ".staging.lock"):
        yield


def remove_stale_staging():
    """Remove staging folders of runs that died (their lock is free); a live run holds its lock.
    Call it under staging_lock(): a folder is locked by its run before that lock is let go."""
    for folder in BUILD.glob("run-*"):
        if not folder.is_dir():                              # not a staging folder: a stray file
            folder.unlink(missing_ok=True)
            continue
        if not (folder / ".lock").is_file():                 # never create it: a folder without
            shutil.rmtree(folder, ignore_errors=True)        # one is an older layout or a dead run
            continue
        lock = FileLock(folder / ".lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue                                         # a live run
        lock.release()                                       # no run can take it: we hold staging_lock
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def signals_deferred(signals=(signal.SIGTERM, signal.SIGINT)):
    """SIGTERM and Ctrl-C wait until the block has finished, then take effect (main thread only)."""
    pending = []
    old = {s: signal.signal(s, lambda number, frame: pending.append(number)) for s in signals}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        for number in pending:
            signal.raise_signal(number)


@contextlib.contextmanager
def console_progress(run, path):
    """While the block runs, print each line the kernel appends to `path` (`vae_utils.engine.progress`) as
    `run: line` on the console; the executed notebook never sees them."""
    path.touch()
    done = threading.Event()

    def follow():
        with open(path) as fh:
            while True:
                position = fh.tell()
                line = fh.readline()
                if line.endswith("\n"):
                    print(f"{run}: {line.rstrip()}", flush=True)
                    continue
                fh.seek(position)                      # nothing, or half a line: wait for the rest
                if done.is_set():
                    return
                done.wait(0.5)
    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=10)


def published(profile, run, kind="notebooks", suffix=".ipynb"):
    """Where run `run` of `profile` ends up: its executed notebook, or another kind of output."""
    return paths.published_dir(profile, create=False) / kind / f"{run}{suffix}"


def publish(stage, notebook, profile, run):
    """Move a finished run's staged outputs into the profile's results folder, the notebook last."""
    final = paths.published_dir(profile)
    output = published(profile, run)
    output.unlink(missing_ok=True)               # a run half-moved by a kill is seen as not finished
    for path in sorted(p for p in stage.rglob("*") if p.is_file()):
        target = final / path.relative_to(stage)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
    output.parent.mkdir(parents=True, exist_ok=True)
    os.replace(notebook, output)
    return output


def up_to_date(profile, run, digest):
    """True when the published run was made from inputs with this digest (its notebook is there)."""
    output, meta = published(profile, run), published(profile, run, "metadata", ".json")
    try:
        return output.exists() and json.loads(meta.read_text()).get("inputs_sha256") == digest
    except (OSError, ValueError):
        return False


def execute(profile, run, prepare_only=None, force=False):
    """Run `run` of `profile` into its results folder (or only prepare it, into `prepare_only`).
    A run whose published results came from the same inputs (`inputs.parts`, their `inputs.digest`)
    is not executed again unless `force`: its notebook is touched, so that Make takes it as up to date."""
    notebook, params, used_protocol = check_run(profile, run)
    quiet = dict(kernel_name="python3", progress_bar=False, log_output=False)
    if prepare_only:
        pm.execute_notebook(str(notebook), str(prepare_only), parameters=params, prepare_only=True, **quiet)
        return None
    found = inputs.parts(profile, run)
    digest = inputs.digest(found)
    if not force and up_to_date(profile, run, digest):
        published(profile, run).touch()
        print(f"{run} ({profile}): up to date (its inputs are unchanged but for comments); "
              f"--force runs it again")
        return None
    BUILD.mkdir(exist_ok=True)
    with staging_lock():
        remove_stale_staging()
        work = Path(tempfile.mkdtemp(prefix=f"run-{run}-", dir=BUILD))
        lock = FileLock(work / ".lock")
        lock.acquire()
    stage, events = work / "outputs", work / "events.log"
    saved = dict(os.environ)
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.pop("VAE_DATA_LIMIT", None)          # only a dry run loads a cut of the data
    absolute_environment()
    dry = runspec.dry_environment(profile)
    os.environ.update({paths.STAGE_ENV: str(stage), **dry, FILE_ENV: str(work / "progress.log")})
    os.environ.setdefault(EVERY_ENV, "5" if sys.stdout.isatty() else "0")   # CI: a line per stack and phase
    try:
        tmp = work / f"{run}.ipynb"
        start = time.perf_counter()
        print(f"{run} ({profile}): running {notebook.name}", flush=True)
        try:
            # --log-level=ERROR: no "Kernel is running over TCP without encryption" in every run
            with console_progress(run, work / "progress.log"):
                pm.execute_notebook(str(notebook), str(tmp), parameters=params, cwd=str(notebook.parent),
                                    extra_arguments=["--log-level=ERROR"], **quiet)
        finally:
            lines = events.read_text().splitlines() if events.exists() else []
            for line in lines:
                print(f"{run}: {line}", file=sys.stderr)
        lab_format.rewrite(tmp)      # as JupyterLab saves it: opening the published notebook there changes nothing
        seconds = time.perf_counter() - start
        from vae_utils.engine.reproducibility import write_run_metadata
        write_run_metadata(paths.output_dir(profile, "metadata") / f"{run}.json", notebook=notebook.name,
                           profile=profile, parameters=params, protocol=used_protocol,
                           wall_seconds=round(seconds, 1), cache_events=lines,
                           data_limit=dry.get("VAE_DATA_LIMIT"), inputs_sha256=digest, inputs=found)
        with signals_deferred():     # SIGKILL cannot be: then the missing notebook marks it unfinished
            publish(stage, tmp, profile, run)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        lock.release()
        shutil.rmtree(work, ignore_errors=True)
    return seconds


def absolute_environment(names=("VAE_DATA_DIR", "VAE_CACHE_DIR")):
    """Relative folders in these variables made absolute: the kernel runs in notebooks/, not here."""
    for name in names:
        if os.environ.get(name):
            os.environ[name] = str(Path(os.environ[name]).expanduser().resolve())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("run", nargs="?", help="parameter file stem: <notebook>--<dataset> (see params/PROFILE/)")
    parser.add_argument("--prepare-only", metavar="OUT", help="write the parameterised notebook to OUT")
    parser.add_argument("--check", action="store_true", help="check every run of the profile, run nothing")
    parser.add_argument("--force", action="store_true", help="execute even when the inputs are unchanged")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # a killed run unwinds through cleanup
    try:
        if args.check:
            sys.exit(check_profile(args.profile))
        if not args.run:
            parser.error("name a RUN, or pass --check")
        seconds = execute(args.profile, args.run, args.prepare_only, args.force)
    except ValueError as err:
        sys.exit(f"run_notebook: {err}")
    if seconds is not None:
        print(f"{args.run} ({args.profile}): {seconds:.1f} s")


if __name__ == "__main__":
    main()
