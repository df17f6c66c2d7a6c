"""Check that every executed notebook of a profile prints the verdict rows its profile reports.

    python scripts/check_printed.py PROFILE

For each run with an executed notebook (<results>/notebooks/<run>.ipynb) and verdict rows in the
profile's verdicts.csv, every row must appear exactly once in the verdict tables the notebook shows
(`verdicts.table`): one table row holding the row's condition, its estimate and interval as
stored, and its outcome (twice would be a table shown twice); and its '## Answer' must come before
its first figure and '## Checks' last. What a reader sees is what the report counts. Exit 1
naming each run whose notebook shows something else.
"""
import html
import json
import re
import sys

from vae_utils.config import notebooks, runspec
from vae_utils.config.paths import PROFILES, check_profile, output_dir, results_dir
from vae_utils.inference import verdicts


def shown_rows(path):
    """Every HTML table row (<tr>…</tr>, tags stripped to ' | ') the notebook's outputs show."""
    cells = json.loads(path.read_text())["cells"]
    pages = ["".join(out.get("data", {}).get("text/html", "")) for cell in cells for out in cell.get("outputs", [])]
    rows = re.findall(r"<tr>(.*?)</tr>", "\n".join(pages), flags=re.S)
    return [html.unescape(" | ".join(re.findall(r">([^<]*)</t[hd]>", row))) for row in rows]


def missing(rows, shown):
    """The verdict rows (as 'condition: estimate → outcome') that not exactly one shown table row
    holds: none (not shown, or shown otherwise) or several (a verdict table shown twice)."""
    problems = []
    for _, r in rows.iterrows():
        found = sum(line.startswith(f"{r['condition']} |") and verdicts.estimate(r) in line
                    and line.endswith(f"| {r['holds']}") for line in shown)
        if found != 1:
            problems.append(f"{r['condition']}: {verdicts.estimate(r)} → {r['holds']}"
                            + (f" (shown {found} times)" if found else ""))
    return problems


def layout_problems(path):
    """What is out of the reading order in an executed notebook of a judged notebook: its
    '## Answer' heading must come before the first figure, and '## Checks' must be its last section."""
    cells = json.loads(path.read_text())["cells"]
    heads = [(i, "".join(c["source"]).splitlines()[0]) for i, c in enumerate(cells)
             if c["cell_type"] == "markdown" and "".join(c["source"]).startswith("## ")]
    figures = [i for i, c in enumerate(cells) for out in c.get("outputs", []) if "image/png" in out.get("data", {})]
    answer = [i for i, head in heads if head.strip() == "## Answer"]
    problems = []
    if not answer:
        problems.append("no '## Answer' section")
    elif figures and figures[0] < answer[0]:
        problems.append(f"a figure (cell {figures[0]}) comes before '## Answer' (cell {answer[0]})")
    if not heads or not heads[-1][1].startswith("## Checks"):
        problems.append(f"its last section is {heads[-1][1] if heads else 'missing'!r}, not '## Checks'")
    return problems


def mismatches(profile):
    """Runs whose executed notebook does not show its rows of verdicts.csv exactly once, or not in
    the reading order: [(run, problem)]."""
    rows = verdicts.read(results_dir(profile, create=False) / "verdicts.csv")
    problems = []
    for run in runspec.runs_of(profile):
        notebook = output_dir(profile, "notebooks") / f"{run}.ipynb"
        notebook_name, dataset = run.split("--")[0], run.split("--")[-1]
        if notebook_name not in notebooks.JUDGED or not notebook.exists():
            continue
        problems += [(run, problem) for problem in layout_problems(notebook)]
        own = rows[(rows["notebook"] == notebook_name) & (rows["dataset"] == dataset)]
        problems += [(run, f"no single verdict table row: {line}") for line in missing(own, shown_rows(notebook))]
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].removesuffix("-dry") not in PROFILES:
        sys.exit(f"usage: python scripts/check_printed.py {{{','.join(PROFILES)}}}[-dry]")
    check_profile(sys.argv[1])
    found = mismatches(sys.argv[1])
    for run, line in found:
        print(f"{run}: {line}")
    if found:
        sys.exit(f"check_printed: {len(found)} problem(s) in what the executed notebooks show")
    print(f"check_printed: every executed notebook of {sys.argv[1]} answers before its first figure, ends with "
          "its checks and shows each of its rows of verdicts.csv once")
