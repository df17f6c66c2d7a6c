"""Claims of the study turned into measured verdict rows, saved per notebook run."""
import os
import tempfile

import numpy as np
import pandas as pd

from .paths import output_dir
from .stats import holm

KEYS = ["claim_id", "d_z", "n_layers", "train_images", "beta", "versus", "sampler", "versus_sampler"]
# a row's identity as values (claim_id: the claim; the others: its condition, NaN where the claim
# has no such axis); `claim` and `condition` say the same in words, for reading
TREND = ["loo_low", "loo_high", "carried_by"]
# trend rows only: the range of the slope refitted with each level left out, and the levels whose
# omission changes the slope's sign or its decision ("" when none; `judge.leave_one_out`)
COLUMNS = ["notebook", "dataset", "claim", "condition", "metric", "value", "ci_low", "ci_high",
           "n", "min_effect", "p", "p_holm", "p_equiv_holm", "holds", *KEYS, *TREND]
OUTCOMES = ("yes", "no", "equivalent", "inconclusive", "optimisation-limited", "below-baseline")


def decide(value, p_holm, p_equiv_holm, min_effect, direction, alpha=0.05, equivalence=False):
    """The verdict on a claim that the effect is > 0 (direction=+1), < 0 (-1) or either (0: a
    claim of a difference, never 'no'):
    'yes' when the difference from 0 is significant after Holm and the effect is at least
    `min_effect` in the claimed direction; 'no' when it is so in the other direction;
    'equivalent' when the equivalence test (TOST, margin ±min_effect) is significant after
    Holm; otherwise 'inconclusive' (never read as 'no difference').

    A claim of sameness (`equivalence=True`, e.g. "β → 0 behaves like an AE") holds ('yes')
    only through the equivalence test; 'no' when the difference is significant and at least
    `min_effect` either way; otherwise 'inconclusive'."""
    if np.isnan(value):
        return "inconclusive"
    if equivalence:
        if p_equiv_holm < alpha:
            return "yes"
        return "no" if p_holm < alpha and abs(value) >= min_effect else "inconclusive"
    signed = abs(value) if direction == 0 else direction * value
    if p_holm < alpha and abs(signed) >= min_effect:
        return "yes" if signed > 0 else "no"
    if p_equiv_holm < alpha:
        return "equivalent"
    return "inconclusive"


def condition_of(row, columns):
    """The condition string of a row (a mapping) over `columns`, e.g. 'd_z=2, n_layers=3'."""
    return ", ".join(f"{c}={row[c]}" for c in columns)


def keys_of(row, columns, claim_id):
    """The KEYS of a row over its condition `columns` (β as a number; NaN for an axis not in them)."""
    keys = {k: row[k] if k in columns and k in row else np.nan for k in KEYS[1:]}
    if not pd.isna(keys["beta"]):
        keys["beta"] = float(keys["beta"])
    return {"claim_id": claim_id, **keys}


def verdict_rows(notebook, dataset, claim, gaps, condition_columns, direction, alpha=0.05, limited=(),
                 equivalence=False, below_baseline=(), *, claim_id):
    """Verdict rows for one claim's family of conditions, from a `stats.paired_gap` (or
    `stats.gap_slope`) table, whose `margin` is the smallest effect that matters: Holm-adjusted
    within the family. Conditions in `limited` (condition strings) are not counted: their
    models did not train, and the row says so; nor are those in `below_baseline`, where the
    models do not beat a trivial baseline (`vae_utils.baselines`). `equivalence`: a claim of
    sameness (`decide`). `claim_id` names the claim as a value (`KEYS`)."""
    rows = []
    for _, g in gaps.iterrows():
        condition = condition_of(g, condition_columns)
        rows.append({"notebook": notebook, "dataset": dataset, "claim": claim, "condition": condition,
                     "metric": g["metric"], "value": g["gap"], "ci_low": g["ci_low"], "ci_high": g["ci_high"],
                     "n": int(g["n"]), "min_effect": g["margin"], "p": g["p"], "p_equiv": g["p_equiv"],
                     **keys_of(g, condition_columns, claim_id)})
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=COLUMNS)
    counted = ~table["condition"].isin(set(limited) | set(below_baseline))
    table["p_holm"] = np.nan
    table["p_equiv_holm"] = np.nan
    table.loc[counted, "p_holm"] = holm(table.loc[counted, "p"])
    table.loc[counted, "p_equiv_holm"] = holm(table.loc[counted, "p_equiv"])
    table["holds"] = [decide(r.value, r.p_holm, r.p_equiv_holm, r.min_effect, direction, alpha, equivalence)
                      if ok else "optimisation-limited" if r.condition in set(limited) else "below-baseline"
                      for r, ok in zip(table.itertuples(), counted)]
    return table.reindex(columns=COLUMNS)


def describe(rows):
    """One line per claim of verdict rows: each condition's value, 95% interval and outcome."""
    return "\n".join(f"{part['dataset'].iloc[0]}, '{claim}' ({part['metric'].iloc[0]}): "
                     + "; ".join(f"{r.condition}: {r.value:+.3g} [{r.ci_low:+.3g}, {r.ci_high:+.3g}] → {r.holds}"
                                 for r in part.itertuples()) + "."
                     for claim, part in rows.groupby("claim", sort=False))


def summary(rows, alpha):
    """One line per claim of verdict rows: in how many settings each outcome was found."""
    lines = []
    for claim, part in rows.groupby("claim", sort=False):
        counts = part["holds"].value_counts()
        found = ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if o in counts)
        lines.append(f"{part['dataset'].iloc[0]}: '{claim}' over {len(part)} setting(s): {found} "
                     f"(VAE − AE of {part['metric'].iloc[0]}, n = {part['n'].max()} repeats, "
                     f"Holm at {alpha}, smallest effect {part['min_effect'].iloc[0]:g}; "
                     f"values {part['value'].min():+.3g} … {part['value'].max():+.3g}).")
    return "\n".join(lines)


def read(path):
    """Verdict rows from a CSV file (`save`, or results/verdicts.csv): carried_by stays text, and
    a trend row carried by no level reads "" (the file's empty field)."""
    rows = pd.read_csv(path, dtype={"carried_by": str})
    if "carried_by" in rows:
        trend = rows["loo_low"].notna()
        rows.loc[trend, "carried_by"] = rows.loc[trend, "carried_by"].fillna("")
    return rows


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
