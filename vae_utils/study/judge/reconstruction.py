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
    limited = marked(gaps, limited_settings(convergence, by, pca_check), by)
    below = {verdicts.condition_of(s, by) for s in below_baseline(runs, baselines, by)}
    rows = verdicts.verdict_rows(notebook, dataset, CLAIM, gaps, by, +1, limited, below_baseline=below,
                                 claim_id=CLAIM_ID)
    if trend:
        values = sorted(runs[trend].unique())
        margin = min_effect / math.log2(values[-1] / values[0])
        slope = stats.gap_slope(runs, trend, metric, margin)
        trend_row = verdicts.verdict_rows(notebook, dataset, trend_claim(trend), slope, ["comparison"], +1,
                                          set(slope["comparison"]) if limited else set(),
                                          claim_id=f"gap_grows_with_{trend}")
        wide = stats.repeat_gaps(runs, [trend], metric).unstack(trend)
        rows = pd.concat([rows, leave_one_out(trend_row, wide, min_effect, alpha)], ignore_index=True)
    return rows
