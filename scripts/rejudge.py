"""Judge a profile's committed runs again from their tables, without training or loading a model.

    python scripts/rejudge.py PROFILE [RUN ...]

For each run (default: every run of the profile that wrote verdicts), `judge.rejudge` turns its
tables (<results>/tables) into verdict rows by the functions its notebook calls, and they replace
<results>/verdicts/<run>.csv. Use it when a decision rule changes; the executed notebooks in
<results>/notebooks then still print the old verdicts until the runs are executed again.
"""
import sys

from vae_utils.config import runspec
from vae_utils.config.paths import PROFILES, check_profile, output_dir
from vae_utils.inference import verdicts
from vae_utils.study import judge


def main(profile, runs):
    folder = output_dir(profile, "verdicts")
    for run in runs or [r for r in runspec.runs_of(profile) if (folder / f"{r}.csv").exists()]:
        old = verdicts.read(folder / f"{run}.csv") if (folder / f"{run}.csv").exists() else None
        figures = (folder / f"{run}.figures").read_text().split() if (folder / f"{run}.figures").exists() else ()
        rows = judge.rejudge(runspec.resolve(profile, run), output_dir(profile, "tables"))
        verdicts.save(rows, run, profile, figures)
        changed = "" if old is None else sum(a != b for a, b in zip(old["holds"], rows["holds"]))
        print(f"{run}: {len(rows)} rows" + (f", {changed} outcome(s) changed" if old is not None else ""))


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in PROFILES:
        sys.exit(f"usage: python scripts/rejudge.py {{{','.join(PROFILES)}}} [RUN ...]")
    check_profile(sys.argv[1])
    main(sys.argv[1], sys.argv[2:])
