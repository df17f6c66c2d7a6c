"""Which results of a profile are current: `make status [PROFILE=default]`.

    python scripts/status.py [PROFILE]

For each run of the profile (params/PROFILE/[0-9]*.yaml), one line:

* current: its published notebook exists and its metadata's input digest equals the digest of
  today's inputs (`vae_utils.engine.inputs`): `make all` would not execute it again;
* stale: it exists but an input changed, named (notebook cells, its parameter file, the protocol,
  the rows its sibling runs plan, library code, package versions, device); runs recorded before
  the inputs were recorded one by one can only be said to differ;
* missing: no published notebook (never run, or a run that did not finish).

Beside each: the commit and the processor that produced it, and its wall time. Exit status 0;
`--strict` exits 1 unless every run is current. Nothing is trained and no notebook is executed.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vae_utils.config import paths, runspec  # noqa: E402
from vae_utils.engine import inputs  # noqa: E402


def run_status(profile, run, device):
    """(state, why, metadata) of run `run` of `profile`: current, stale or missing."""
    notebook = paths.published_dir(profile, create=False) / "notebooks" / f"{run}.ipynb"
    meta_path = paths.published_dir(profile, create=False) / "metadata" / f"{run}.json"
    if not notebook.exists():
        return "missing", "no executed notebook", {}
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return "stale", "no readable metadata", {}
    found = inputs.parts(profile, run, device)
    if meta.get("inputs_sha256") == inputs.digest(found):
        return "current", "", meta
    recorded = meta.get("inputs")
    if not recorded:
        return "stale", "inputs recorded as one digest only: which changed is not known", meta
    return "stale", "changed: " + ", ".join(inputs.changed(recorded, found)), meta


def made_by(meta):
    """'<commit> on <processor>, <seconds> s' from a run's metadata (what it records)."""
    if not meta:
        return ""
    commit = (meta.get("git_commit") or "no commit")[:12]
    return f"{commit} on {meta.get('device_name') or meta.get('cpu') or 'an unknown device'}, " \
           f"{meta.get('wall_seconds', '?')} s"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", nargs="?", default="default")
    parser.add_argument("--strict", action="store_true", help="exit 1 unless every run is current")
    args = parser.parse_args()
    try:
        paths.check_profile(args.profile)
        runs = runspec.runs_of(args.profile)
    except ValueError as err:
        sys.exit(f"status: {err}")
    if not runs:
        sys.exit(f"status: profile {args.profile!r} has no runs (params/{paths.params_profile(args.profile)}/)")
    device = inputs.device_type()
    counts = {"current": 0, "stale": 0, "missing": 0}
    width = max(len(r) for r in runs)
    for run in runs:
        state, why, meta = run_status(args.profile, run, device)
        counts[state] += 1
        detail = "; ".join(part for part in (why, made_by(meta)) if part)
        print(f"{run:<{width}}  {state:<7}  {detail}")
    print(f"{args.profile}: {counts['current']} current, {counts['stale']} stale, {counts['missing']} missing "
          f"of {len(runs)} runs")
    if args.strict and counts["current"] < len(runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
