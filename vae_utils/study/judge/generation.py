"""Notebook 5: VAEs against AEs as generators (claim 2), and when a generation metric cannot tell."""
import pandas as pd

from ...config.claims import SAMPLER_LABELS, SAMPLERS_FOR
from ...inference import stats, verdicts
from .rules import marked

SATURATED_RECALL = 0.01     # below this mean recall, samples cover almost no real image: the metrics say little


def low_recall(scores, by="d_z"):
    """The values of `by` where some model and sampler in `scores` has a mean recall below
    SATURATED_RECALL (e.g. d_z = 2): its samples cover almost no real image (for the tables)."""
    recall = scores.groupby([by, "model", "sampler"])["recall"].mean()
    return set(recall[recall < SATURATED_RECALL].index.get_level_values(by))


def saturated(scores, sides, reference=None, metric="frechet"):
    """Whether `metric` cannot tell apart the sides of one comparison (the rows of `scores`, one
    per side and repeat; a side per value of the columns `sides`): every side's mean recall is
    below SATURATED_RECALL (the gap compares two failures), or, given the real-data `reference`
    (`reference_table`), some side's 95% interval of `metric` reaches what real images score (at
    or below it: the metric cannot tell that side's samples from data)."""
    means = scores.groupby(sides)[["recall"]].mean()
    if (means["recall"] < SATURATED_RECALL).all():
        return True
    if reference is None or metric not in reference:
        return False
    lowest = [stats.t_band(group[metric])[0] if len(group) > 1 else group[metric].mean()
              for _, group in scores.groupby(sides)]
    return bool(min(lowest) <= float(reference[metric]))


def vae_versus_ae_verdicts(scores, notebook, dataset, min_effect, alpha, reference=None, metric="frechet",
                           limited=(), by=("d_z",)):
    """Verdict rows of "VAEs generate better than AEs", FD(AE) − FD(VAE) paired by repeat per
    setting (the values of `by`; > 0: the VAE is better), for each comparison: the study's (the
    VAE's own prior against each AE sampler) and like for like (the same fitted sampler for both).
    A setting where the metric cannot tell the two apart (`saturated`, against the real-data
    `reference`) is not counted, nor one whose models are optimisation-limited (`limited`:
    settings over `by`, as `rules.limited_settings` gives them)."""
    comparisons = [("prior", ae) for ae in SAMPLERS_FOR["ae"]] + [("gaussian", "gaussian"), ("mixture", "mixture")]
    by, rows = list(by), []
    for vae_sampler, ae_sampler in comparisons:
        pair = scores[((scores["model"] == "ae") & (scores["sampler"] == ae_sampler)) |
                      ((scores["model"] == "vae") & (scores["sampler"] == vae_sampler))]
        gaps = stats.paired_gap(pair, by, metric, min_effect, minus="vae", plus="ae")
        claim = f"VAE ({SAMPLER_LABELS[vae_sampler]}) generates better than AE ({SAMPLER_LABELS[ae_sampler]})"
        too_far = {verdicts.condition_of(dict(zip(by, key if isinstance(key, tuple) else (key,))), by)
                   for key, part in pair.groupby(by if len(by) > 1 else by[0])
                   if saturated(part, ["model", "sampler"], reference, metric)}
        rows.append(verdicts.verdict_rows(notebook, dataset, claim, gaps, by, +1, marked(gaps, limited, by),
                                          saturated=too_far,
                                          claim_id="vae_generates_better").assign(sampler=vae_sampler,
                                                                                  versus_sampler=ae_sampler))
    return pd.concat(rows, ignore_index=True)
