"""The verdict rows whose outcome changed between a commit and the working tree, as a Markdown table.

    python scripts/verdict_changes.py REV [PROFILE] [RUN ...]

For each run (default: every run of PROFILE, default `default`), the rows of
<results>/verdicts/<run>.csv as committed at git revision REV are matched to today's by their
identity (dataset, metric and `verdicts.KEYS`: claim and condition, as the report matches shared
rows). A row is listed when its outcome (`holds`) differs, or when it exists on one side only.
Used to report what a regeneration changed (CHANGELOG.md, the closing notes); why each row
changed is for the reader to add.
"""
import io
import subprocess
import sys

import pandas as pd

from vae_utils.config import runspec
from vae_utils.config.paths import PROFILES, PROJECT_ROOT, check_profile, output_dir
from vae_utils.inference.verdicts import KEYS, read

IDENTITY = ["dataset", "metric", *KEYS]   # a row's identity, as report.mark_shared reads it


def committed(rev, path):
    """The verdict rows of `path` as committed at `rev`, or None when the file did not exist there."""
    found = subprocess.run(["git", "show", f"{rev}:{path.relative_to(PROJECT_ROOT).as_posix()}"],
                           cwd=PROJECT_ROOT, capture_output=True, text=True)
    return read(io.StringIO(found.stdout)) if found.returncode == 0 else None


def changes(old, new):
    """Rows of `new` whose `holds` differs from the row of `old` with the same identity, and rows
    present on one side only, with the old and new value, interval and outcome."""
    merged = pd.merge(_comparable(old), _comparable(new), on=IDENTITY, how="outer",
                      suffixes=("_old", "_new"), indicator=True)
    differ = (merged["_merge"] != "both") | (merged["holds_old"] != merged["holds_new"])
    return merged[differ]


SHOWN = ["claim", "condition", "value", "family_low", "family_high", "holds"]


def _comparable(rows):
    """The identity and SHOWN columns, identities as text (10 and 10.0 alike, "" for none); a column
    that older results lack (the family interval before protocol 3) reads as missing."""
    rows = rows.reindex(columns=IDENTITY + SHOWN)
    for key in IDENTITY:
        rows[key] = [("" if pd.isna(v) else f"{float(v):g}" if _numeric(v) else str(v)) for v in rows[key]]
    return rows


def _numeric(value):
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def number(x):
    return "" if pd.isna(x) else f"{x:.3g}"


def _side(row, side):
    """'value [family interval] outcome' of one side of a merged row, or '(no row)'."""
    if not isinstance(row["holds_" + side], str):
        return "(no row)"
    return (f"{number(row['value_' + side])} [{number(row['family_low_' + side])}, "
            f"{number(row['family_high_' + side])}] {row['holds_' + side]}")


def as_markdown(run, rows):
    lines = []
    for _, r in rows.iterrows():
        claim = r["claim_old"] if isinstance(r["claim_old"], str) else r["claim_new"]
        condition = r["condition_old"] if isinstance(r["condition_old"], str) else r["condition_new"]
        lines.append(f"| {run} | {claim} | {condition} | {_side(r, 'old')} | {_side(r, 'new')} |")
    return lines


def main(rev, profile, runs):
    folder = output_dir(profile, "verdicts")
    lines, total = [], 0
    for run in runs or runspec.runs_of(profile):
        path = folder / f"{run}.csv"
        old = committed(rev, path)
        if old is None or not path.exists():
            print(f"{run}: {'no committed rows at ' + rev if old is None else 'no rows today'}", file=sys.stderr)
            continue
        found = changes(old, read(path))
        total += len(found)
        print(f"{run}: {len(old)} rows then, {len(read(path))} now, {len(found)} changed", file=sys.stderr)
        lines += as_markdown(run, found)
    if lines:
        print("| run | claim | condition | then: value [family interval] outcome | now |")
        print("|---|---|---|---|---|")
        print("\n".join(lines))
    print(f"{total} row(s) changed outcome or appeared/disappeared", file=sys.stderr)


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        sys.exit(f"usage: python scripts/verdict_changes.py REV [{'|'.join(PROFILES)}] [RUN ...]")
    profile = args[1] if len(args) > 1 and args[1] in PROFILES else "default"
    check_profile(profile)
    main(args[0], profile, args[2:] if len(args) > 1 and args[1] in PROFILES else args[1:])
