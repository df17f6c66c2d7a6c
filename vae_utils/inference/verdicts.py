"""Claims of the study turned into measured verdict rows, saved per notebook run."""
import os
import tempfile

import numpy as np
import pandas as pd

from ..config.paths import output_dir
from .stats import holm

KEYS = ["claim_id", "d_z", "n_layers", "train_images", "beta", "versus", "sampler", "versus_sampler"]
# a row's identity as values (claim_id: the claim; the others: its condition, NaN where the claim
# has no such axis); `claim` and `condition` say the same in words, for reading
TREND = ["loo_low", "loo_high", "carried_by"]
# trend rows only: the range of the slope refitted with each level left out, and the levels whose
# omission changes the slope's sign or its decision ("" when none; `judge.leave_one_out`)
FAMILY = ["family", "family_tests"]
# the multiplicity family a row was adjusted in (one claim of the study on one dataset,
# `vae_utils.inference.families`) and how many tests that family holds over every run of the profile
COLUMNS = ["notebook", "dataset", "claim", "condition", "metric", "value", "ci_low", "ci_high",
           "n", "min_effect", "p", "p_holm", "p_margin", "p_margin_holm", "p_equiv", "p_equiv_holm", "holds",
           "alternative", *FAMILY, *KEYS, *TREND]
BELOW_MARGIN = "non-zero, below margin"     # significantly non-zero, not shown to reach the smallest effect
NOT_COUNTED = ("optimisation-limited", "below-baseline", "saturated")
OUTCOMES = ("yes", "no", BELOW_MARGIN, "equivalent", "inconclusive", *NOT_COUNTED)
ALTERNATIVES = {+1: "greater", 0: "two-sided"}   # a claim that the effect is > 0, or that it differs either way
EQUIVALENCE = "equivalence"                       # a claim of sameness


def decide(value, p_holm, p_margin_holm, p_equiv_holm, alternative, alpha=0.05):
    """The outcome of one row from its adjusted p-values: of the test of 0 (`p_holm`), of the
    effect lying beyond the smallest effect that matters on the side of its estimate
    (`p_margin_holm`, `stats.beyond_margin`) and of equivalence within the margin (TOST).

    'greater' (the claim: effect > 0): 'yes' when the effect is shown beyond +margin, 'no' when
    beyond −margin; 'two-sided' (a change either way): 'yes' when beyond the margin on either
    side, never 'no'; 'equivalence' (a claim of sameness): 'yes' only through the equivalence
    test, 'no' when shown beyond the margin. Otherwise 'equivalent' when the equivalence test
    rejects (not for a claim of sameness, where that is 'yes'), BELOW_MARGIN when only the test of
    0 does, else 'inconclusive' (never read as 'no difference')."""
    if np.isnan(value):
        return "inconclusive"
    if alternative not in (*ALTERNATIVES.values(), EQUIVALENCE):
        raise ValueError(f"alternative={alternative!r} is not allowed; allowed: greater, two-sided, equivalence")
    beyond = p_margin_holm < alpha
    if alternative == EQUIVALENCE:
        if p_equiv_holm < alpha:
            return "yes"
        if beyond:
            return "no"
    elif beyond:
        return "yes" if alternative == "two-sided" or value > 0 else "no"
    elif p_equiv_holm < alpha:
        return "equivalent"
    return BELOW_MARGIN if p_holm < alpha else "inconclusive"


def decide_rows(rows, alpha):
    """`decide` for every counted row of a verdict table (rows already marked NOT_COUNTED stay so)."""
    return [r.holds if r.holds in NOT_COUNTED else
            decide(r.value, r.p_holm, r.p_margin_holm, r.p_equiv_holm, r.alternative, alpha)
            for r in rows.itertuples()]


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
                 equivalence=False, below_baseline=(), saturated=(), *, claim_id):
    """Verdict rows for one claim's conditions, from a `stats.paired_gap` (or `stats.gap_slope`)
    table, whose `margin` is the smallest effect that matters: Holm-adjusted within these rows
    (a run's final rows are adjusted over the claim's whole family: `vae_utils.inference.families`).
    Conditions in `limited` (condition strings) are not counted: their models did not train, and
    the row says so; nor are those in `below_baseline`, where the models do not beat a trivial
    baseline (`vae_utils.metrics.baselines`), nor those in `saturated`, where the scores cannot tell
    (`vae_utils.study.judge.saturated`). `direction`: +1 for a claim that the effect is > 0, 0 for
    a change either way; `equivalence`: a claim of sameness (`decide`). `claim_id` names the
    claim as a value (`KEYS`)."""
    if direction not in ALTERNATIVES:
        raise ValueError(f"direction={direction!r} is not allowed; allowed: +1 (effect > 0) or 0 (either way)")
    rows = []
    for _, g in gaps.iterrows():
        condition = condition_of(g, condition_columns)
        rows.append({"notebook": notebook, "dataset": dataset, "claim": claim, "condition": condition,
                     "metric": g["metric"], "value": g["gap"], "ci_low": g["ci_low"], "ci_high": g["ci_high"],
                     "n": int(g["n"]), "min_effect": g["margin"], "p": g["p"], "p_margin": g["p_margin"],
                     "p_equiv": g["p_equiv"], "alternative": EQUIVALENCE if equivalence else ALTERNATIVES[direction],
                     **keys_of(g, condition_columns, claim_id)})
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=COLUMNS)
    marks = {**{c: "saturated" for c in saturated}, **{c: "below-baseline" for c in below_baseline},
             **{c: "optimisation-limited" for c in limited}}
    table["holds"] = [marks.get(c, "") for c in table["condition"]]
    return adjust(table, 1.0, alpha).reindex(columns=COLUMNS)


def adjust(rows, scale, alpha):
    """Rows of one family (or one part of it) Holm-adjusted over their counted rows, each adjusted
    p-value multiplied by `scale` (at most 1), and decided (`decide_rows`). With `scale` = the
    family's tests / these rows, the parts of a family split α in proportion to their rows and
    Holm runs within each part: the family-wise error stays at most α (a weighted Bonferroni
    split across parts, Holm's step-down within each)."""
    rows = rows.copy()
    counted = ~rows["holds"].isin(NOT_COUNTED)
    for raw in ("p", "p_margin", "p_equiv"):
        rows[f"{raw}_holm"] = np.nan
        rows.loc[counted, f"{raw}_holm"] = np.minimum(1.0, holm(rows.loc[counted, raw]) * scale)
    rows["holds"] = decide_rows(rows, alpha)
    return rows


STORED = "%.6g"      # the precision of every verdict file (save, scripts/report.py)


def stored(value):
    """`value` as a verdict file holds it (STORED): a notebook prints what the report reads back."""
    return float(STORED % value)


def describe(rows):
    """One line per claim of verdict rows: each condition's value, 95% interval and outcome, from
    the numbers as stored (5.914998 is stored as 5.915 and shown as +5.92 from memory and file alike)."""
    return "\n".join(f"{part['dataset'].iloc[0]}, '{claim}' ({part['metric'].iloc[0]}): "
                     + "; ".join(f"{r.condition}: {stored(r.value):+.3g} [{stored(r.ci_low):+.3g}, "
                                 f"{stored(r.ci_high):+.3g}] → {r.holds}" for r in part.itertuples()) + "."
                     for claim, part in rows.groupby("claim", sort=False))


def estimate(row):
    """'+9.73 [+9.44, +10.0]': a row's value and 95% interval as stored (what a notebook shows)."""
    return f"{stored(row['value']):+.3g} [{stored(row['ci_low']):+.3g}, {stored(row['ci_high']):+.3g}]"


def table(rows):
    """A claim's verdict rows for reading, one per condition: estimate [95% CI], repeats, margin,
    the family-adjusted p-values of the effect lying beyond the margin and of equivalence within
    it, the family and the outcome."""
    return pd.DataFrame({"estimate [95% CI]": rows.apply(estimate, axis=1), "n": rows["n"],
                         "margin": rows["min_effect"], "p beyond margin (Holm)": rows["p_margin_holm"].round(4),
                         "p equivalent (Holm)": rows["p_equiv_holm"].round(4),
                         "family (tests)": rows["family"] + " (" + rows["family_tests"].astype(str) + ")",
                         "outcome": rows["holds"]}).set_axis(rows["condition"]).rename_axis(rows["claim"].iloc[0])


def tables(rows, claim_ids=None):
    """`table` for each claim among `rows` (those of `claim_ids` only, when given), in row order:
    what a notebook shows once per claim, in that claim's section."""
    if claim_ids is not None:
        rows = rows[rows["claim_id"].isin(claim_ids)]
    return [table(part) for _, part in rows.groupby("claim", sort=False)]


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
    _write_atomically(folder / f"{run}.csv", rows[COLUMNS].to_csv(index=False, float_format=STORED))
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
