"""Statistics over repeats: Student-t intervals (at 95% and at any level), summaries, AE/VAE gaps
paired by repeat with their standard errors, tests (one-sample t, equivalence by TOST) and paired
slopes."""
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


def t_band(values, bounds=(-np.inf, np.inf)):
    """Error bars for seaborn: the 95% Student-t interval of the mean, as in the tables
    (deterministic, unlike seaborn's bootstrap), clipped to the metric's `bounds`."""
    _, low, high = t_interval(values)
    return max(low, bounds[0]), min(high, bounds[1])


def unit_band(values):
    """`t_band` for a metric bounded to [0, 1] (a share): no interval reaches outside it."""
    return t_band(values, (0.0, 1.0))


def _key_dict(by, key):
    return dict(zip(by, key if isinstance(key, tuple) else (key,)))


def summarise(table, by, metrics):
    """Mean, std, n and 95% t-interval of each metric over repeats, per group."""
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


def repeat_gaps(table, by, metric, minus="ae", plus="vae"):
    """`plus` − `minus` of `metric` for each group and repeat (a Series indexed by `by` + repeat);
    ValueError when a (group, repeat, model) has more than one row (nothing is averaged away)."""
    wide = table.pivot(index=by + ["repeat"], columns="model", values=metric)
    if minus not in wide or plus not in wide:
        raise ValueError(f"a paired gap needs both models {minus!r} and {plus!r} in the table")
    return wide[plus] - wide[minus]


def tests(values, margin):
    """p-values of a one-sample t-test of mean 0 (two-sided), of the mean lying beyond the margin
    on the side of the estimate (`beyond_margin`) and of TOST equivalence within ±`margin` (the
    larger of the two one-sided p-values); nan with fewer than 2 values."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2 or np.std(values) == 0:
        return np.nan, np.nan, np.nan
    p_diff = stats.ttest_1samp(values, 0.0).pvalue
    beyond = beyond_margin(values.mean(), margin,
                           lambda shift, side: stats.ttest_1samp(values, shift, alternative=side).pvalue)
    p_equiv = max(stats.ttest_1samp(values, -margin, alternative="greater").pvalue,
                  stats.ttest_1samp(values, margin, alternative="less").pvalue)
    return p_diff, beyond, p_equiv


def beyond_margin(mean, margin, one_sided):
    """The p-value that the effect lies beyond ±`margin` on the side of its estimate `mean`: twice
    the one-sided p of `one_sided(shift, side)` against +margin ("greater") or −margin ("less"),
    at most 1. Doubling makes it the two-sided test's partner: it is below α exactly when the
    (1 − α) two-sided interval clears the margin, and it pays for choosing the side from the data."""
    p = one_sided(margin, "greater") if mean >= 0 else one_sided(-margin, "less")
    return min(1.0, 2 * p)


def interval(value, se, df, level):
    """The two-sided Student-t interval `value` ± t(df)·`se` at confidence `level` (nan without a
    standard error; a point when se = 0): what `t_interval` gives at 95%, at any level."""
    if np.isnan(se) or np.isnan(df) or df <= 0:
        return np.nan, np.nan
    half = stats.t.ppf(0.5 + level / 2, df) * se
    return value - half, value + half


def _effect_row(values, margin, **fields):
    values = np.asarray(values, dtype=float)
    mean, low, high = t_interval(values)
    p_diff, p_margin, p_equiv = tests(values, margin)
    se = stats.sem(values) if len(values) > 1 else np.nan
    return {**fields, "gap": mean, "ci_low": low, "ci_high": high, "se": se, "df": len(values) - 1.0,
            "p": p_diff, "p_margin": p_margin, "p_equiv": p_equiv, "margin": margin, "n": len(values)}


def paired_gap(table, by, metric, margin, minus="ae", plus="vae"):
    """Per group: `plus` − `minus` of `metric`, paired by repeat, with its 95% t-interval and
    the p-values of `tests` (equivalence margin `margin`, in the metric's units)."""
    gap = repeat_gaps(table, by, metric, minus, plus).rename("gap").reset_index()
    return pd.DataFrame([_effect_row(group["gap"], margin, **_key_dict(by, key), metric=metric)
                         for key, group in gap.groupby(by, sort=True)])


def repeat_slope(wide, margin, label, metric):
    """The slope of each repeat's values (rows of `wide`, one column per x) against log2 x,
    compared across repeats: mean slope per doubling of x, its interval and the `tests`."""
    wide = wide.dropna()
    log_x = np.log2(np.asarray(wide.columns, dtype=float))
    slopes = [np.polyfit(log_x, row.to_numpy(), 1)[0] for _, row in wide.iterrows()]
    return pd.DataFrame([_effect_row(slopes, margin, comparison=label, metric=metric)])


def leave_one_out(wide, margin_of):
    """`repeat_slope` of `wide` again with each level (column) left out, each with the margin
    `margin_of(levels kept)`: one row per left-out level (`without`); empty below 3 levels."""
    if wide.shape[1] < 3:
        return pd.DataFrame(columns=["without", "gap", "ci_low", "ci_high", "se", "df", "p", "p_margin", "p_equiv",
                                     "margin", "n"])
    rows = []
    for level in wide.columns:
        kept = wide.drop(columns=level)
        rows.append({"without": level, **repeat_slope(kept, margin_of(list(kept.columns)), "", "").iloc[0]})
    return pd.DataFrame(rows)


def gap_slope(table, x, metric, margin, minus="ae", plus="vae"):
    """The slope of the (`plus` − `minus`) gap against log2 `x`, fitted over every value of `x`
    within each repeat, then compared across repeats (a paired slope, per doubling of `x`)."""
    gap = repeat_gaps(table, [x], metric, minus, plus).unstack(x)
    values = ", ".join(str(v) for v in gap.columns)
    return repeat_slope(gap, margin, f"slope per doubling of {x} ({values})", f"{metric} gap slope")


def difference_of_means(later, earlier, margin, level=0.95, **fields):
    """`later` − `earlier` for two independent samples (e.g. a gap's repeats at two data sizes):
    the difference of the means, its Welch interval, the Welch test of 0 (two-sided), of the
    difference lying beyond the margin (`beyond_margin`) and TOST within ±`margin`, in the row
    format of `paired_gap`."""
    a, b = np.asarray(later, dtype=float), np.asarray(earlier, dtype=float)
    test = stats.ttest_ind(a, b, equal_var=False)
    low, high = test.confidence_interval(level)

    def shifted(shift, side):                      # later − earlier against `shift`
        return stats.ttest_ind(a - shift, b, equal_var=False, alternative=side).pvalue

    p_equiv = max(shifted(-margin, "greater"), shifted(margin, "less"))
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return {**fields, "gap": a.mean() - b.mean(), "ci_low": low, "ci_high": high, "se": se, "df": test.df,
            "p": test.pvalue,
            "p_margin": beyond_margin(a.mean() - b.mean(), margin, shifted), "p_equiv": p_equiv, "margin": margin,
            "n": min(len(a), len(b))}
