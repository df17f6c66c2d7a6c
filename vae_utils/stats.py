"""Statistics over repeats: Student-t intervals, summaries, and AE/VAE gaps paired by repeat."""
import numpy as np
import pandas as pd
from scipy import stats


def t_interval(values, level=0.95):
    """Mean and two-sided Student-t interval of the mean; (mean, nan, nan) for one value."""
    values = np.asarray(values, dtype=float)
    mean = values.mean()
    if len(values) < 2:
        return mean, np.nan, np.nan
    sem = stats.sem(values)
    if sem == 0:                                    # identical repeats: scipy's interval is nan
        return mean, mean, mean
    low, high = stats.t.interval(level, len(values) - 1, loc=mean, scale=sem)
    return mean, low, high


def t_band(values):
    """Error bars for seaborn: the 95% Student-t interval of the mean, as in the tables
    (deterministic, unlike seaborn's bootstrap)."""
    _, low, high = t_interval(values)
    return low, high


def _key_dict(by, key):
    return dict(zip(by, key if isinstance(key, tuple) else (key,)))


def summarise(table, by, metrics):
    """Mean, std, n and 95% t-interval of each metric over repeats (folds), per group."""
    rows = []
    for key, group in table.groupby(by, sort=True):
        row = _key_dict(by, key)
        for m in metrics:
            mean, low, high = t_interval(group[m])
            row.update({f"{m}_mean": mean, f"{m}_std": group[m].std(ddof=1), f"{m}_ci_low": low,
                        f"{m}_ci_high": high})
        row["n"] = len(group)
        rows.append(row)
    return pd.DataFrame(rows)


def _fold_gaps(table, by, metric, minus, plus):
    """`plus` − `minus` of `metric` for each group and fold (a Series indexed by `by` + fold);
    ValueError when a (group, fold, model) has more than one row (nothing is averaged away)."""
    wide = table.pivot(index=by + ["fold"], columns="model", values=metric)
    if minus not in wide or plus not in wide:
        raise ValueError(f"a paired gap needs both models {minus!r} and {plus!r} in the table")
    return wide[plus] - wide[minus]


def paired_gap(table, by, metric, minus="ae", plus="vae"):
    """Per group: `plus` − `minus` of `metric`, paired by fold, with its 95% t-interval."""
    gap = _fold_gaps(table, by, metric, minus, plus).rename("gap").reset_index()
    rows = []
    for key, group in gap.groupby(by, sort=True):
        mean, low, high = t_interval(group["gap"])
        rows.append({**_key_dict(by, key), "metric": metric, "gap": mean, "ci_low": low,
                     "ci_high": high, "n": len(group)})
    return pd.DataFrame(rows)


def gap_trend(table, x, metric, minus="ae", plus="vae"):
    """(plus − minus gap at the largest `x`) − (gap at the smallest `x`), paired by fold, with a 95% interval."""
    lo, hi = table[x].min(), table[x].max()
    gap = _fold_gaps(table, [x], metric, minus, plus).unstack(x)
    change = (gap[hi] - gap[lo]).dropna()
    mean, low, high = t_interval(change)
    return pd.DataFrame([{"comparison": f"{x}={lo} to {x}={hi}", "metric": metric, "gap": mean,
                          "ci_low": low, "ci_high": high, "n": len(change)}])
