"""Check that every executed notebook of a profile prints the verdict rows its profile reports.

    python scripts/check_printed.py PROFILE

For each run with an executed notebook (<results>/notebooks/<run>.ipynb) and verdict rows in the
profile's verdicts.csv, every line of `verdicts.describe` of those rows (each condition's value,
interval and outcome) must appear in the notebook's printed output: what a reader sees is what
the report counts. Exit 1 naming each run whose notebook prints something else.
"""
import json
import sys

from vae_utils import runspec, verdicts
from vae_utils.paths import PROFILES, check_profile, output_dir, results_dir


def printed(path):
    """All text a notebook's cells printed (stream outputs and plain-text results)."""
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
                     for cell in cells for out in cell.get("outputs", []))


def mismatches(profile):
    """Runs whose executed notebook does not print its rows of verdicts.csv: [(run, missing line)]."""
    rows = verdicts.read(results_dir(profile, create=False) / "verdicts.csv")
    problems = []
    for run in runspec.runs_of(profile):
        notebook = output_dir(profile, "notebooks") / f"{run}.ipynb"
        notebook_name, dataset = run.split("--")[0], run.split("--")[-1]
        own = rows[(rows["notebook"] == notebook_name) & (rows["dataset"] == dataset)]
        if own.empty or not notebook.exists():
            continue
        text = printed(notebook)
        problems += [(run, line) for line in verdicts.describe(own).splitlines() if line not in text]
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].removesuffix("-dry") not in PROFILES:
        sys.exit(f"usage: python scripts/check_printed.py {{{','.join(PROFILES)}}}[-dry]")
    check_profile(sys.argv[1])
    found = mismatches(sys.argv[1])
    for run, line in found:
        print(f"{run}: its notebook does not print: {line}")
    if found:
        sys.exit(f"check_printed: {len(found)} verdict line(s) of verdicts.csv not printed by their notebook")
    print(f"check_printed: every executed notebook of {sys.argv[1]} prints its rows of verdicts.csv")
