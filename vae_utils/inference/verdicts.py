"""Claims of the study turned into measured verdict rows, saved per notebook run."""
import os
import tempfile

import numpy as np
import pandas as pd

from ..config.paths import output_dir
from . import stats

KEYS = ["claim_id", "d_z", "n_layers", "train_images", "beta", "versus", "sampler", "versus_sampler"]
# a row's identity as values (claim_id: the claim; the others: its condition, NaN where the claim
# has no such axis); `claim` and `condition` say the same in words, for reading
TREND = ["loo_low", "loo_high", "carried_by", "stronger_without"]
# trend rows only: the range of the slope refitted with each level left out, the levels whose
# omission weakens the result (flips the slope's sign or loses its decision) and those whose
# omission strengthens it ("" when none; `judge.leave_one_out`)
FAMILY = ["family", "family_tests", "family_level", "family_low", "family_high"]
# the multiplicity family a row was judged in (one claim of the study on one dataset,
# `vae_utils.inference.families`), how many tests it holds over every run of the profile, and the
# row's simultaneous interval at the family's level (1 − α / family_tests), which decides it
DISJOINT, SHARED = "disjoint data", "shared data (seeds only)"
# what varies between a row's repeats: disjoint blocks of training images, or only the seed (the
# training images are the same in every repeat); the test set is one set either way
COLUMNS = ["notebook", "dataset", "claim", "condition", "metric", "value", "ci_low", "ci_high",
           "n", "se", "df", "min_effect", "p", "p_margin", "p_equiv", "holds", "alternative", "repeats",
           *FAMILY, *KEYS, *TREND]
BELOW_MARGIN = "non-zero, below margin"     # significantly non-zero, not shown to reach the smallest effect
SENSITIVITY = "sensitivity"                 # a row reported beside a declared one, never judged
NOT_COUNTED = ("optimisation-limited", "below-baseline", "saturated", SENSITIVITY)
OUTCOMES = ("yes", "no", BELOW_MARGIN, "equivalent", "inconclusive", *NOT_COUNTED)
ALTERNATIVES = {+1: "greater", 0: "two-sided"}   # a claim that the effect is > 0, or that it differs either way
EQUIVALENCE = "equivalence"                       # a claim of sameness


def decide(low, high, margin, alternative):
    """The outcome of one row from one two-sided interval [`low`, `high`] of its effect and the
    smallest effect that matters (`margin`): every outcome is a statement the interval implies, so
    when the intervals of a family cover their effects together, no outcome in it is wrong.

    'greater' (the claim: effect > 0): 'yes' when the interval lies above +margin, 'no' when below
    −margin; 'two-sided' (a change either way): 'yes' when beyond the margin on either side, never
    'no'; 'equivalence' (a claim of sameness): 'yes' when the interval lies inside ±margin, 'no'
    when beyond it. Otherwise 'equivalent' when the interval lies inside ±margin (not for a claim
    of sameness, where that is 'yes'), BELOW_MARGIN when it only excludes 0, else 'inconclusive'
    (never read as 'no difference')."""
    if alternative not in (*ALTERNATIVES.values(), EQUIVALENCE):
        raise ValueError(f"alternative={alternative!r} is not allowed; allowed: greater, two-sided, equivalence")
    if np.isnan(low) or np.isnan(high):
        return "inconclusive"
    above, below = low > margin, high < -margin
    inside = -margin < low and high < margin
    if alternative == EQUIVALENCE:
        if inside:
            return "yes"
        if above or below:
            return "no"
    elif above or below:
        return "yes" if alternative == "two-sided" or above else "no"
    elif inside:
        return "equivalent"
    return BELOW_MARGIN if low > 0 or high < 0 else "inconclusive"


def condition_of(row, columns):
    """The condition string of a row (a mapping) over `columns`, e.g. 'd_z=2, n_layers=3'."""
    return ", ".join(f"{c}={row[c]}" for c in columns)


def keys_of(row, columns, claim_id):
    """The KEYS of a row over its condition `columns` (β as a number; NaN for an axis not in them)."""
    keys = {k: row[k] if k in columns and k in row else np.nan for k in KEYS[1:]}
    if not pd.isna(keys["beta"]):
        keys["beta"] = float(keys["beta"])
    return {"claim_id": claim_id, **keys}


def verdict_rows(notebook, dataset, claim, gaps, condition_columns, direction, limited=(),
                 equivalence=False, below_baseline=(), saturated=(), sensitivity=False, *, claim_id):
    """Verdict rows for one claim's conditions, from a `stats.paired_gap` (or `stats.gap_slope`)
    table, whose `margin` is the smallest effect that matters; not yet decided: `adjust` (through
    `families.adjust`) decides every row once, in its family. Conditions in `limited` (condition
    strings) are marked not counted: their models did not train; so are those in `below_baseline`,
    where the models do not beat a trivial baseline (`vae_utils.metrics.baselines`), and those in
    `saturated`, where the scores cannot tell (`vae_utils.study.judge.saturated`); `sensitivity`
    marks every row as reported beside the declared view, never judged. `direction`: +1 for a
    claim that the effect is > 0, 0 for a change either way; `equivalence`: a claim of sameness
    (`decide`). `claim_id` names the claim as a value (`KEYS`)."""
    if direction not in ALTERNATIVES:
        raise ValueError(f"direction={direction!r} is not allowed; allowed: +1 (effect > 0) or 0 (either way)")
    rows = []
    for _, g in gaps.iterrows():
        condition = condition_of(g, condition_columns)
        rows.append({"notebook": notebook, "dataset": dataset, "claim": claim, "condition": condition,
                     "metric": g["metric"], "value": g["gap"], "ci_low": g["ci_low"], "ci_high": g["ci_high"],
                     "n": int(g["n"]), "se": g["se"], "df": g["df"], "min_effect": g["margin"], "p": g["p"],
                     "p_margin": g["p_margin"], "p_equiv": g["p_equiv"],
                     "alternative": EQUIVALENCE if equivalence else ALTERNATIVES[direction],
                     **keys_of(g, condition_columns, claim_id)})
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=COLUMNS)
    marks = {**{c: "saturated" for c in saturated}, **{c: "below-baseline" for c in below_baseline},
             **{c: "optimisation-limited" for c in limited}}
    table["holds"] = [SENSITIVITY if sensitivity else marks.get(c, "") for c in table["condition"]]
    return table.reindex(columns=COLUMNS)


def family_level(tests, alpha):
    """The confidence level of each interval of a family of `tests`: 1 − α / tests (Bonferroni), so
    that all of the family's intervals cover their effects together with probability ≥ 1 − α."""
    return 1 - alpha / tests


def adjust(rows, tests, alpha):
    """Rows of one family (or the part of it one run computes) decided at the family's level: each
    counted row's two-sided interval at `family_level(tests, alpha)` (Dunn's Bonferroni
    simultaneous intervals over the family's `tests`) and its outcome from that interval alone
    (`decide`). Rows marked NOT_COUNTED get neither. Each run decides its rows without waiting
    for the others: a family's rows share α equally wherever they are computed."""
    rows = rows.copy()
    level = family_level(tests, alpha)
    counted = ~rows["holds"].isin(NOT_COUNTED)
    rows["family_level"] = np.where(counted, level, np.nan)
    rows["family_low"], rows["family_high"] = np.nan, np.nan
    for i in rows.index[counted]:
        r = rows.loc[i]
        low, high = stats.interval(r["value"], r["se"], r["df"], level)
        rows.loc[i, ["family_low", "family_high"]] = low, high
        rows.loc[i, "holds"] = decide(low, high, r["min_effect"], r["alternative"])
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


def family_interval(row):
    """'[+9.21, +10.3] at 99.6%': the interval that decided a row, at its family's level ('—' for
    a row not counted)."""
    if pd.isna(row.get("family_low")):
        return "—"
    return (f"[{stored(row['family_low']):+.3g}, {stored(row['family_high']):+.3g}] "
            f"at {100 * row['family_level']:.3g}%")


def table(rows):
    """A claim's verdict rows for reading, one per condition: estimate [95% CI], the interval at
    the family's level that decides the outcome, repeats and what varies between them, margin,
    the family and the outcome."""
    return pd.DataFrame({"estimate [95% CI]": rows.apply(estimate, axis=1),
                         "deciding interval (family level)": rows.apply(family_interval, axis=1),
                         "n": rows["n"], "repeats": rows["repeats"], "margin": rows["min_effect"],
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
                     f"decided at family level, α = {alpha}, smallest effect {part['min_effect'].iloc[0]:g}; "
                     f"values {part['value'].min():+.3g} … {part['value'].max():+.3g}).")
    return "\n".join(lines)


def read(path):
    """Verdict rows from a CSV file (`save`, or results/verdicts.csv): carried_by and
    stronger_without stay text, and a trend row with no such level reads "" (the file's empty field)."""
    rows = pd.read_csv(path, dtype={"carried_by": str, "stronger_without": str})
    trend = rows["loo_low"].notna() if "loo_low" in rows else None
    for column in ("carried_by", "stronger_without"):
        if column in rows:
            rows.loc[trend, column] = rows.loc[trend, column].fillna("")
    return rows


def save(rows, run, profile="default", key_figures=()):
    """Write one notebook run's verdict rows to <results>/verdicts/<run>.csv, and the names of
    its key figures to <run>.figures, each atomically. `scripts/report.py` gathers them."""
    folder = output_dir(profile, "verdicts")
    _write_atomically(folder / f"{run}.csv", rows[COLUMNS].to_csv(index=False, float_format=STORED))
    save_key_figures(key_figures, run, profile)
    return folder / f"{run}.csv"


def save_key_figures(names, run, profile="default"):
    """Write the names of run `run`'s key figures to <results>/verdicts/<run>.figures, atomically."""
    _write_atomically(output_dir(profile, "verdicts") / f"{run}.figures", "".join(f"{name}\n" for name in names))


def _write_atomically(path, text):
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
