"""Notebook 4: β-VAEs against the AE and the plain VAE (claims 3, 4 and 5)."""
import math

import pandas as pd

from ...config.claims import AE, RAW_VIEW, SAMPLER_LABELS, VIEW
from ...config.claims import BETA_CLAIMS as CLAIMS
from ...inference import stats, verdicts
from .generation import saturated
from .rules import leave_one_out, limited_arms


def with_codes(runs, clusters, view=VIEW):
    """The per-model table with the clustering scores of `view` joined on (runs alone without labels)."""
    if clusters is None or clusters.empty:
        return runs
    part = clusters[clusters["view"] == view].drop(columns=["view", "beta"])
    return runs.merge(part, on=["arm", "repeat"], how="left")


def paired_arms(table, metric, pairs, margin, d_z):
    """plus − minus of `metric` for each (minus, plus) arm pair, by repeat: one row per pair with
    its interval and tests (`stats.paired_gap`); `beta` names the plus arm, `versus` the minus one."""
    rows = []
    for minus, plus in pairs:
        part = table[table["arm"].isin([minus, plus])].assign(model=lambda t: t["arm"], d_z=d_z)
        gap = stats.paired_gap(part, ["d_z"], metric, margin, minus=minus, plus=plus)
        rows.append(gap.assign(beta=plus.removeprefix("β="), versus=minus))
    return pd.concat(rows, ignore_index=True)


def _arm_rows(key, gaps, limited, *, notebook, dataset, alpha, equivalence=False, columns=("beta", "versus", "d_z"),
              saturated=(), sensitivity=False):
    not_counted = {verdicts.condition_of(g, list(columns)) for _, g in gaps.iterrows()
                   if f"β={g.get('beta')}" in limited or g.get("versus") in limited}
    return verdicts.verdict_rows(notebook, dataset, CLAIMS[key], gaps, list(columns), +1, not_counted,
                                 equivalence, saturated=saturated, sensitivity=sensitivity, claim_id=key)


def ae_likeness(runs, limited, ae_like, vae_like, d_z, *, notebook, dataset, min_effect, alpha, metric="test_recon"):
    """Claim 3 as sameness claims (equivalence within ±`min_effect`): each β in `ae_like` against
    the AE, each β in `vae_like` against β = 1; arms in `limited` are not counted."""
    judged = dict(notebook=notebook, dataset=dataset, alpha=alpha, equivalence=True)
    near_ae = paired_arms(runs, metric, [(AE, f"β={b:g}") for b in ae_like], min_effect, d_z)
    near_vae = paired_arms(runs, metric, [("β=1", f"β={b:g}") for b in vae_like], min_effect, d_z)
    return pd.concat([_arm_rows("ae_like", near_ae, limited, **judged),
                      _arm_rows("vae_like", near_vae, limited, **judged)], ignore_index=True)


def clustering(table, limited, betas, metric, min_effect, d_z, *, notebook, dataset, alpha, raw=None):
    """Claim 4 on `metric` of `table` (`with_codes`): each β ≥ 1 against the AE, and the paired
    slope of the metric against log2 β over β ≥ 1 (margin: `min_effect` across the whole range);
    with `raw` (`with_codes` on the raw codes), each β ≥ 1 against the AE on them too, as
    sensitivity rows (reported, not counted)."""
    high = [b for b in sorted(betas) if b >= 1]
    versus_ae = paired_arms(table, metric, [(AE, f"β={b:g}") for b in high], min_effect, d_z)
    wide = table[table["arm"].isin([f"β={b:g}" for b in high])].pivot(index="repeat", columns="beta", values=metric)
    slope = stats.repeat_slope(wide, min_effect / math.log2(high[-1] / high[0]),
                               f"slope per doubling of β ({', '.join(f'{b:g}' for b in high)})", f"{metric} slope")
    not_counted = {slope["comparison"].iloc[0]} if any(f"β={b:g}" in limited for b in high) else set()
    trend = leave_one_out(verdicts.verdict_rows(notebook, dataset, CLAIMS["clusters_trend"], slope, ["comparison"],
                                                +1, not_counted, claim_id="clusters_trend"),
                          wide, min_effect, alpha)
    judged = dict(notebook=notebook, dataset=dataset, alpha=alpha)
    parts = [_arm_rows("clusters", versus_ae, limited, **judged), trend]
    if raw is not None and metric in raw:
        on_raw = paired_arms(raw, metric, [(AE, f"β={b:g}") for b in high], min_effect, d_z)
        parts.append(_arm_rows("clusters_raw", on_raw, limited, sensitivity=True, **judged))
    return pd.concat(parts, ignore_index=True)


def beta_generation(scores, limited, betas, min_effect, d_z, labels, *, notebook, dataset, alpha, metric="frechet",
                    reference=None):
    """Claim 5: each β > 1 against β = 1, score(β = 1) − score(β) paired by repeat (> 0: β
    generates better), for each sampler (`labels` names them: own prior is the claim, a
    fitted mixture the control). A comparison the metric cannot tell (`saturated`, against the
    real-data `reference`) is not counted."""
    rows = []
    for sampler in dict.fromkeys(scores["sampler"]):
        part = scores[(scores["sampler"] == sampler) & (scores["model"] == "vae")]
        gaps = paired_arms(part, metric, [(f"β={b:g}", "β=1") for b in sorted(betas) if b > 1], min_effect, d_z)
        gaps["beta"], gaps["versus"] = [v.removeprefix("β=") for v in gaps["versus"]], "β=1"
        gaps["sampler"] = labels[sampler]
        columns = ["beta", "versus", "sampler", "d_z"]
        unsure = {verdicts.condition_of(g, columns) for _, g in gaps.iterrows()
                  if saturated(part[part["arm"].isin([f"β={g['beta']}", "β=1"])], ["arm"], reference, metric)}
        found = _arm_rows("generates", gaps, limited, notebook=notebook, dataset=dataset, alpha=alpha,
                          columns=columns, saturated=unsure)
        found["claim"], found["sampler"] = f"{CLAIMS['generates']} ({labels[sampler]})", sampler
        rows.append(found)
    return pd.concat(rows, ignore_index=True)


BETA_SETTINGS = ("ae_like_betas", "vae_like_betas", "cluster_metric", "min_cluster_effect", "generation_metric",
                 "min_generation_effect")


def beta_verdicts(keys, runs, convergence, clusters, scores, *, betas, d_z, ae_like_betas, vae_like_betas,
                  cluster_metric, min_cluster_effect, generation_metric, min_generation_effect, notebook, dataset,
                  min_effect, alpha, reference=None, pca_check=None):
    """Notebook 4's verdict rows for the claims named in `keys` (of `CLAIMS`: ae_like, vae_like,
    clusters, generates; in that order), from its per-model tables: `clusters` (`measure.add_codes`)
    may be None without labels, `scores` (`measure.add_generation`) without the generation claim,
    `reference` (the real images' scores) without a real-data reference. Arms with a repeat that
    did not converge are not counted, nor any arm when the linear AEs at d_z miss PCA (`pca_check`)."""
    limited, judged = limited_arms(convergence, pca_check), dict(notebook=notebook, dataset=dataset, alpha=alpha)
    parts = []
    if {"ae_like", "vae_like"} & set(keys):
        parts.append(ae_likeness(runs, limited, ae_like_betas if "ae_like" in keys else [],
                                 vae_like_betas if "vae_like" in keys else [], d_z, min_effect=min_effect, **judged))
    if "clusters" in keys:
        raw = with_codes(runs, clusters, RAW_VIEW) if clusters is not None and not clusters.empty else None
        parts.append(clustering(with_codes(runs, clusters), limited, betas, cluster_metric, min_cluster_effect, d_z,
                                raw=raw, **judged))
    if "generates" in keys:
        parts.append(beta_generation(scores, limited, betas, min_generation_effect, d_z, SAMPLER_LABELS,
                                     metric=generation_metric, reference=reference, **judged))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=verdicts.COLUMNS)
