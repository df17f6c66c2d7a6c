"""Notebooks 2 and 3: "AEs reconstruct better than VAEs", per setting and as a trend over d_z."""
import math

import pandas as pd

from ...config.claims import CLAIM, CLAIM_ID, trend_claim
from ...inference import stats, verdicts
from .rules import below_baseline, leave_one_out, limited_settings, marked


def reconstruction(runs, convergence, by, *, notebook, dataset, min_effect, alpha, trend=None, pca_check=None,
                   baselines=None, metric="test_recon"):
    """Verdict rows for CLAIM per setting in `by` and, with `trend` (a column),
    for 'the gap grows with it': the paired slope of the gap against log2 of the column over all
    its values, whose smallest effect is `min_effect` across the whole range. Optimisation-limited
    and below-baseline settings are marked and not counted."""
    gaps = stats.paired_gap(runs, by, metric, min_effect)
    settings = limited_settings(convergence, by, pca_check)
    limited = marked(gaps, settings, by)
    below = {verdicts.condition_of(s, by) for s in below_baseline(runs, baselines, by)}
    rows = verdicts.verdict_rows(notebook, dataset, CLAIM, gaps, by, +1, limited, below_baseline=below,
                                 claim_id=CLAIM_ID)
    if trend:
        rows = pd.concat([rows, trend_rows(runs, trend, settings, notebook=notebook, dataset=dataset,
                                           min_effect=min_effect, alpha=alpha, metric=metric)], ignore_index=True)
    return rows


def trend_rows(runs, trend, limited, *, notebook, dataset, min_effect, alpha, metric="test_recon"):
    """The row for 'the gap grows with `trend`': the paired slope of the gap against log2 of the
    column over its levels whose models are not optimisation-limited (`limited`, settings as
    `limited_settings` gives them; the levels left out are named in the row's comparison), its
    smallest effect `min_effect` across the range kept, each kept level also left out in turn
    (`leave_one_out`). Not counted when fewer than two levels are left, or when a limited
    setting is not one of the trend's levels."""
    levels = sorted(runs[trend].unique())
    out = [v for v in levels if any(s.get(trend) == v for s in limited)]
    whole = any(trend not in s for s in limited)          # limited without naming a level: all of it
    kept = [v for v in levels if v not in out]
    fitted = kept if len(kept) >= 2 and not whole else levels
    used = runs[runs[trend].isin(fitted)]
    slope = stats.gap_slope(used, trend, metric, min_effect / math.log2(fitted[-1] / fitted[0]))
    if fitted != levels:
        slope["comparison"] += f"; {trend} = {', '.join(f'{v:g}' for v in out)} left out (optimisation-limited)"
    not_counted = ({verdicts.condition_of(r, ["comparison"]) for _, r in slope.iterrows()}
                   if out and fitted == levels or whole else set())
    row = verdicts.verdict_rows(notebook, dataset, trend_claim(trend), slope, ["comparison"], +1, not_counted,
                                claim_id=f"gap_grows_with_{trend}")
    wide = stats.repeat_gaps(used, [trend], metric).unstack(trend)
    return leave_one_out(row, wide, min_effect, alpha)
