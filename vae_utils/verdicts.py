"""Claims of the study turned into measured verdict rows, saved per notebook run."""
import os
import tempfile

import numpy as np
import pandas as pd

from .paths import output_dir

COLUMNS = ["notebook", "dataset", "claim", "condition", "metric", "value", "ci_low", "ci_high",
           "n", "holds"]


def holds(ci_low, ci_high, direction):
    """'yes' when the 95% interval lies on the claimed side of 0, 'no' when on the other side,
    else 'inconclusive'. direction=+1: the claim says the value is > 0; -1: < 0."""
    if np.isnan(ci_low) or np.isnan(ci_high):
        return "inconclusive"
    low, high = sorted((direction * ci_low, direction * ci_high))
    if low > 0:
        return "yes"
    if high < 0:
        return "no"
    return "inconclusive"


def verdict_rows(notebook, dataset, claim, gaps, condition_columns, direction):
    """Verdict rows from a `paired_gap` table (one row per condition)."""
    rows = []
    for _, g in gaps.iterrows():
        condition = ", ".join(f"{c}={g[c]}" for c in condition_columns)
        rows.append({"notebook": notebook, "dataset": dataset, "claim": claim, "condition": condition,
                     "metric": g["metric"], "value": g["gap"], "ci_low": g["ci_low"],
                     "ci_high": g["ci_high"], "n": int(g["n"]),
                     "holds": holds(g["ci_low"], g["ci_high"], direction)})
    return pd.DataFrame(rows, columns=COLUMNS)


def save(rows, run, profile="default", key_figures=()):
    """Write one notebook run's verdict rows to <results>/verdicts/<run>.csv, and the names of
    its key figures to <run>.figures, each atomically. `scripts/report.py` gathers them."""
    folder = output_dir(profile, "verdicts")
    _write_atomically(folder / f"{run}.csv", rows[COLUMNS].to_csv(index=False, float_format="%.6g"))
    _write_atomically(folder / f"{run}.figures", "".join(f"{name}\n" for name in key_figures))
    return folder / f"{run}.csv"


def _write_atomically(path, text):
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
