"""Check that every executed notebook of a profile prints the verdict rows its profile reports.

    python scripts/check_printed.py PROFILE

For each run with an executed notebook (<results>/notebooks/<run>.ipynb) and verdict rows in the
profile's verdicts.csv, every row must appear in a verdict table the notebook shows
(`verdicts.table`): one table row holding the row's condition, its estimate and interval as
stored, and its outcome. What a reader sees is what the report counts. Exit 1 naming each run
whose notebook shows something else.
"""
import html
import json
import re
import sys

from vae_utils import runspec, verdicts
from vae_utils.paths import PROFILES, check_profile, output_dir, results_dir


def shown_rows(path):
    """Every HTML table row (<tr>…</tr>, tags stripped to ' | ') the notebook's outputs show."""
    cells = json.loads(path.read_text())["cells"]
    pages = ["".join(out.get("data", {}).get("text/html", "")) for cell in cells for out in cell.get("outputs", [])]
    rows = re.findall(r"<tr>(.*?)</tr>", "\n".join(pages), flags=re.S)
    return [html.unescape(" | ".join(re.findall(r">([^<]*)</t[hd]>", row))) for row in rows]


def missing(rows, shown):
    """The verdict rows (as 'condition: estimate → outcome') no shown table row holds."""
    return [f"{r['condition']}: {verdicts.estimate(r)} → {r['holds']}" for _, r in rows.iterrows()
            if not any(line.startswith(f"{r['condition']} |") and verdicts.estimate(r) in line
                       and line.endswith(f"| {r['holds']}") for line in shown)]


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
        problems += [(run, line) for line in missing(own, shown_rows(notebook))]
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].removesuffix("-dry") not in PROFILES:
        sys.exit(f"usage: python scripts/check_printed.py {{{','.join(PROFILES)}}}[-dry]")
    check_profile(sys.argv[1])
    found = mismatches(sys.argv[1])
    for run, line in found:
        print(f"{run}: its notebook shows no verdict table row: {line}")
    if found:
        sys.exit(f"check_printed: {len(found)} verdict line(s) of verdicts.csv not shown by their notebook")
    print(f"check_printed: every executed notebook of {sys.argv[1]} shows its rows of verdicts.csv")
