"""The judge stage: a run's verdict rows from its measured tables alone.

Every function here takes the per-model tables a run writes to <results>/tables (DataFrames, in
memory or read back from the CSV files) and the run's settings, and returns verdict rows
(`verdicts.COLUMNS`). Which settings are optimisation-limited or below a baseline is read from
those tables' columns, never from what a notebook happened to compute before, so `rejudge`
turns a run's committed tables back into its committed verdicts (tests/test_judge.py).
"""
import math

import numpy as np
import pandas as pd

from . import families, paths, protocol, stats, verdicts
from .convergence import pca_summary
from .data import load_dataset
from .generation import SAMPLER_LABELS, saturated, vae_versus_ae_verdicts
from .runspec import TAGS, tag_of

SIZE = "train_images"   # the column of a training-set-size axis: images per repeat, validation included
CLAIM = "AE reconstructs better than VAE"
CLAIM_ID = "ae_reconstructs_better"
CLAIMS = {                                                              # notebook 4's claims
    "ae_like": "β → 0 behaves like an AE (reconstruction)",
    "vae_like": "β ≈ 1 behaves like a VAE (reconstruction)",
    "clusters": "β-VAE (β ≥ 1) clusters better than an AE",
    "clusters_trend": "clustering improves with β (β ≥ 1)",
    "generates": "β > 1 generates better than a plain VAE",
}
CHANGE_IDS = {"test_recon": "recon_gap_changes_with_size", "nmi": "nmi_gap_changes_with_size"}
CHANGES = {                                                             # notebook 6's question
    "test_recon": "the VAE − AE reconstruction gap changes with the training-set size",
    "nmi": "the β = 1 − AE clustering (NMI) gap changes with the training-set size",
}
AE = "ae"
VIEW = "active_standardised"    # the codes clustering claims are judged on


# -- which settings are not counted ------------------------------------------------------------
def convergence_by_setting(convergence, by):
    """Per setting (values of `by`) and model, from the per-model convergence table: epochs run,
    best epoch, models at the cap, the largest final gain, how many of how many repeats converged,
    the mean best validation loss and (with 1-layer models in the grid) whether it is no worse
    than the linear model's at the same other settings."""
    per = convergence.groupby(by + ["model"]).agg(
        epochs_run=("epochs_run", "mean"), best_epoch=("best_epoch", "mean"), hit_cap=("hit_cap", "sum"),
        final_gain_max=("final_gain", "max"), converged=("converged", "sum"), repeats=("converged", "size"),
        best_val_loss=("best_val_loss", "mean")).reset_index()
    per["not_worse_than_linear"] = True
    if "n_layers" in by and 1 in set(per["n_layers"]):
        keys = [k for k in by if k != "n_layers"] + ["model"]
        linear = per[per["n_layers"] == 1].set_index(keys)["best_val_loss"]
        per["not_worse_than_linear"] = [row.best_val_loss <= linear[tuple(getattr(row, k) for k in keys)]
                                        for row in per.itertuples()]
    return per


def limited_settings(convergence, by, pca_check=None):
    """The optimisation-limited settings (dicts over `by`, each once): some repeat of the AE or the
    VAE did not converge, or its mean best validation loss is worse than the linear model's; with
    `pca_check` (`convergence.pca_check`), also every setting at a d_z where the linear AEs miss PCA."""
    per = convergence_by_setting(convergence, by)
    ok = (per["converged"] == per["repeats"]) & per["not_worse_than_linear"]
    bad = dict.fromkeys(tuple(key) for key, good in zip(per[by].itertuples(index=False), ok) if not good)
    settings = [dict(zip(by, key)) for key in bad]
    if pca_check is not None and not pca_check.empty:
        summary = pca_summary(pca_check)
        settings += [{"d_z": d_z} for d_z in summary.loc[~summary["within_tolerance"].astype(bool), "d_z"]]
    return settings


def below_baseline(runs, baselines, by):
    """Settings (dicts over `by`) where the AE or the VAE does not reconstruct the test images better
    than the nearest training image, in test MSE per pixel (means over repeats; the baseline's NLL
    would need a σ only the test set could give it); none without a `baselines` table."""
    if baselines is None or baselines.empty:
        return []
    lookup = baselines.loc[baselines["baseline"] == "nearest training image", "test_mse"].mean()
    means = runs.groupby(by + ["model"])["test_mse"].mean().unstack("model")
    return [dict(zip(by, key if isinstance(key, tuple) else (key,)))
            for key, row in means.iterrows() if (row >= lookup).any()]


def marked(table, settings, columns):
    """Condition strings (over `columns`) of `table`'s rows that fall in one of `settings`."""
    return {verdicts.condition_of(row, columns) for _, row in table.iterrows()
            if any(all(row[k] == v for k, v in s.items()) for s in settings)}


# -- trends ------------------------------------------------------------------------------------------
def leave_one_out(rows, wide, min_effect, alpha):
    """A trend's verdict row (one row; its slope over the levels, columns of `wide`, one row per
    repeat) with the slope refitted with each level left out (`stats.leave_one_out`, margin
    `min_effect` across the levels kept): loo_low and loo_high, the range of those slopes, and
    carried_by, the levels whose omission changes the slope's sign or its decision
    (`verdicts.decide` on unadjusted p-values, for the full slope as for each refit: a family of
    one), "" when none. Unchanged below 3 levels."""
    loo = stats.leave_one_out(wide, lambda kept: min_effect / math.log2(max(kept) / min(kept)))
    if loo.empty:
        return rows
    row = rows.iloc[0]
    full = verdicts.decide(row["value"], row["p"], row["p_margin"], row["p_equiv"], "greater", alpha)
    refits = zip(loo["without"], loo["gap"], loo["p"], loo["p_margin"], loo["p_equiv"])
    carried = [f"{w:g}" for w, g, p, pm, pe in refits
               if np.sign(g) != np.sign(row["value"]) or verdicts.decide(g, p, pm, pe, "greater", alpha) != full]
    return rows.assign(loo_low=loo["gap"].min(), loo_high=loo["gap"].max(), carried_by=" ".join(carried))


# -- notebooks 2 and 3: "AEs reconstruct better than VAEs" ---------------------------------------
def trend_claim(axis):
    """The claim of a trend row: the AE − VAE gap grows with `axis` (e.g. d_z)."""
    return f"AE-VAE gap grows with {axis}"


def reconstruction(runs, convergence, by, *, notebook, dataset, min_effect, alpha, trend=None, pca_check=None,
                   baselines=None, metric="test_recon"):
    """Verdict rows for CLAIM per setting in `by` (one Holm family) and, with `trend` (a column),
    for 'the gap grows with it': the paired slope of the gap against log2 of the column over all
    its values, whose smallest effect is `min_effect` across the whole range. Optimisation-limited
    and below-baseline settings are marked and not counted."""
    gaps = stats.paired_gap(runs, by, metric, min_effect)
    limited = marked(gaps, limited_settings(convergence, by, pca_check), by)
    below = {verdicts.condition_of(s, by) for s in below_baseline(runs, baselines, by)}
    rows = verdicts.verdict_rows(notebook, dataset, CLAIM, gaps, by, +1, alpha, limited, below_baseline=below,
                                 claim_id=CLAIM_ID)
    if trend:
        values = sorted(runs[trend].unique())
        margin = min_effect / math.log2(values[-1] / values[0])
        slope = stats.gap_slope(runs, trend, metric, margin)
        trend_row = verdicts.verdict_rows(notebook, dataset, trend_claim(trend), slope, ["comparison"], +1, alpha,
                                          set(slope["comparison"]) if limited else set(),
                                          claim_id=f"gap_grows_with_{trend}")
        wide = stats.repeat_gaps(runs, [trend], metric).unstack(trend)
        rows = pd.concat([rows, leave_one_out(trend_row, wide, min_effect, alpha)], ignore_index=True)
    return rows


# -- notebook 4: β-VAEs against the AE and the plain VAE ----------------------------------------
def arm(model, beta):
    """The name of a model in a β grid: 'ae', or 'β=<value>' for a VAE."""
    return AE if model == AE else f"β={beta:g}"


def limited_arms(convergence):
    """Arms ('ae', 'β=…') with a repeat that did not converge."""
    converged = convergence.groupby("arm")["converged"].all()
    return set(converged.index[~converged])


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
              saturated=()):
    not_counted = {verdicts.condition_of(g, list(columns)) for _, g in gaps.iterrows()
                   if f"β={g.get('beta')}" in limited or g.get("versus") in limited}
    return verdicts.verdict_rows(notebook, dataset, CLAIMS[key], gaps, list(columns), +1, alpha, not_counted,
                                 equivalence, saturated=saturated, claim_id=key)


def ae_likeness(runs, limited, ae_like, vae_like, d_z, *, notebook, dataset, min_effect, alpha, metric="test_recon"):
    """Claim 3 as sameness claims (equivalence within ±`min_effect`): each β in `ae_like` against
    the AE, each β in `vae_like` against β = 1; arms in `limited` are not counted."""
    judged = dict(notebook=notebook, dataset=dataset, alpha=alpha, equivalence=True)
    near_ae = paired_arms(runs, metric, [(AE, f"β={b:g}") for b in ae_like], min_effect, d_z)
    near_vae = paired_arms(runs, metric, [("β=1", f"β={b:g}") for b in vae_like], min_effect, d_z)
    return pd.concat([_arm_rows("ae_like", near_ae, limited, **judged),
                      _arm_rows("vae_like", near_vae, limited, **judged)], ignore_index=True)


def clustering(table, limited, betas, metric, min_effect, d_z, *, notebook, dataset, alpha):
    """Claim 4 on `metric` of `table` (`with_codes`): each β ≥ 1 against the AE (one Holm family),
    and the paired slope of the metric against log2 β over β ≥ 1 (margin: `min_effect` across the
    whole range)."""
    high = [b for b in sorted(betas) if b >= 1]
    versus_ae = paired_arms(table, metric, [(AE, f"β={b:g}") for b in high], min_effect, d_z)
    wide = table[table["arm"].isin([f"β={b:g}" for b in high])].pivot(index="repeat", columns="beta", values=metric)
    slope = stats.repeat_slope(wide, min_effect / math.log2(high[-1] / high[0]),
                               f"slope per doubling of β ({', '.join(f'{b:g}' for b in high)})", f"{metric} slope")
    not_counted = {slope["comparison"].iloc[0]} if any(f"β={b:g}" in limited for b in high) else set()
    trend = leave_one_out(verdicts.verdict_rows(notebook, dataset, CLAIMS["clusters_trend"], slope, ["comparison"],
                                                +1, alpha, not_counted, claim_id="clusters_trend"),
                          wide, min_effect, alpha)
    return pd.concat([_arm_rows("clusters", versus_ae, limited, notebook=notebook, dataset=dataset, alpha=alpha),
                      trend], ignore_index=True)


def beta_generation(scores, limited, betas, min_effect, d_z, labels, *, notebook, dataset, alpha, metric="frechet",
                    reference=None):
    """Claim 5: each β > 1 against β = 1, score(β = 1) − score(β) paired by repeat (> 0: β
    generates better), Holm within each sampler (`labels` names them: own prior is the claim, a
    fitted mixture the control). A comparison the metric cannot tell (`generation.saturated`,
    against the real-data `reference`) is not counted."""
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
                  min_effect, alpha, reference=None):
    """Notebook 4's verdict rows for the claims named in `keys` (of `CLAIMS`: ae_like, vae_like,
    clusters, generates; in that order), from its per-model tables: `clusters` (`measure.add_codes`)
    may be None without labels, `scores` (`measure.add_generation`) without the generation claim,
    `reference` (the real images' scores) without a real-data reference. Arms with a repeat that
    did not converge are not counted."""
    limited, judged = limited_arms(convergence), dict(notebook=notebook, dataset=dataset, alpha=alpha)
    parts = []
    if {"ae_like", "vae_like"} & set(keys):
        parts.append(ae_likeness(runs, limited, ae_like_betas if "ae_like" in keys else [],
                                 vae_like_betas if "vae_like" in keys else [], d_z, min_effect=min_effect, **judged))
    if "clusters" in keys:
        parts.append(clustering(with_codes(runs, clusters), limited, betas, cluster_metric, min_cluster_effect, d_z,
                                **judged))
    if "generates" in keys:
        parts.append(beta_generation(scores, limited, betas, min_generation_effect, d_z, SAMPLER_LABELS,
                                     metric=generation_metric, reference=reference, **judged))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=verdicts.COLUMNS)


# -- a measured run (`measure.Measured`) --------------------------------------------------------
def limited(m):
    """What a measured run does not count: the arms of a β grid with a repeat that did not converge
    (`limited_arms`), else the optimisation-limited settings (`limited_settings`)."""
    if "arm" in m.convergence:
        return limited_arms(m.convergence)
    return limited_settings(m.convergence, m.by, m.pca_check)


def sweep_verdicts(m, by, trend=None):
    """`reconstruction` on an AE-against-VAE run's tables: 'AE reconstructs better than VAE' per
    setting in `by` and, with `trend` (an axis), whether the gap grows with it."""
    rows = reconstruction(m.runs, m.convergence, by, notebook=m.notebook, dataset=m.dataset, min_effect=m.min_effect,
                          alpha=m.alpha, trend=trend, pca_check=m.pca_check, baselines=m.baselines)
    return families.adjust(rows, m.profile, m.alpha)


def beta_run_verdicts(m, claims, keys, **settings):
    """`beta_verdicts` on a β run's tables, for the claims in both `claims` (the run's) and `keys`
    (`settings`: its parameters of BETA_SETTINGS)."""
    rows = beta_verdicts([k for k in keys if k in claims], m.runs, m.convergence, m.clusters, m.scores,
                         betas=m.axes["beta"], d_z=m.axes["d_z"][0], notebook=m.notebook, dataset=m.dataset,
                         min_effect=m.min_effect, alpha=m.alpha, reference=m.reference, **settings)
    return families.adjust(rows, m.profile, m.alpha)


# -- notebook 5: VAEs against AEs ----------------------------------------------------------------
def generation_verdicts(m, scores, min_frechet_effect, reference=None):
    """Notebook 5's rows (`generation.vae_versus_ae_verdicts` on `scores`, against the real-data
    `reference`) adjusted in claim 2's family; empty for unlabelled data (no classifier)."""
    if scores is None:
        return pd.DataFrame(columns=verdicts.COLUMNS)
    rows = vae_versus_ae_verdicts(scores, m.notebook, m.dataset, min_frechet_effect, m.alpha, reference)
    return families.adjust(rows, m.profile, m.alpha)


# -- notebook 6: the claims at each training-set size ---------------------------------------------
SHARED = {"test_recon": "03_ae_vs_vae_latent_dim", "nmi": "04_beta_vae"}   # the run whose models each claim shares


def own_size(protocol_used, dataset):
    """Images per repeat of a protocol: the size every other notebook of the profile trains on."""
    return protocol_used["n_train"] or len(load_dataset(dataset).train_x)


def shared_metrics(profile, dataset, protocol_used):
    """The metrics (of `SHARED`) whose run in this profile and dataset trains on `protocol_used`:
    then its models at `own_size` are this notebook's, and their rows are named as there."""
    folder = paths.PROJECT_ROOT / "params" / paths.params_profile(profile)
    shared = set()
    for metric, notebook in SHARED.items():
        run = folder / f"{notebook}--{dataset}.yaml"
        if run.exists():
            overrides = protocol.read_yaml(run, "a run's parameters").get("protocol") or {}
            if protocol.load(profile, dataset, overrides) == protocol_used:
                shared.add(metric)
    return shared


def _named(rows, gaps, columns, own_size, shared):
    """With `shared`, the conditions at the profile's own size read as in the run whose models they
    are (so the report counts them once): `columns` without the size, in words and keys; elsewhere
    with it."""
    rows = rows.copy()
    theirs = (gaps[SIZE] == own_size).to_numpy() & bool(shared)
    rows["condition"] = [verdicts.condition_of(g, [c for c in columns if c != SIZE]) if own else condition
                         for (_, g), condition, own in zip(gaps.iterrows(), rows["condition"], theirs)]
    rows.loc[theirs, SIZE] = np.nan
    return rows


def size_claims(runs, convergence, *, notebook, dataset, min_effect, alpha, nmi_min_effect, own_size, shared=()):
    """Claim 1 (VAE − AE test reconstruction, nats per image) and claim 4 (β = 1 − AE k-means NMI
    of the codes) at every size and d_z: one Holm family per claim. `shared`: the metrics whose
    rows at `own_size` are another notebook's models (named as there). Beside the verdict columns:
    the row's d_z and size."""
    by, parts = [SIZE, "d_z"], []
    limited = limited_settings(convergence, by)
    recon = stats.paired_gap(runs, by, "test_recon", min_effect)
    recon["n_layers"] = runs["n_layers"].iloc[0]
    nmi = stats.paired_gap(runs, by, "nmi", nmi_min_effect).assign(beta="1", versus="ae")
    for claim, key, gaps, columns, metric in ((CLAIM, CLAIM_ID, recon, ["d_z", "n_layers", SIZE], "test_recon"),
                                              (CLAIMS["clusters"], "clusters", nmi, ["beta", "versus", "d_z", SIZE],
                                               "nmi")):
        rows = verdicts.verdict_rows(notebook, dataset, claim, gaps, columns, +1, alpha,
                                     marked(gaps, limited, columns), claim_id=key)
        rows = _named(rows, gaps, columns, own_size, metric in shared)
        parts.append(rows.assign(images=gaps[SIZE].to_numpy()))
    return pd.concat(parts, ignore_index=True)


def size_changes(runs, convergence, *, notebook, dataset, min_effect, alpha, nmi_min_effect):
    """Per claim and d_z: does the gap at the largest size differ from the gap at the smallest?
    A two-sample (Welch) interval on the difference of the two gaps' means, two-sided, with the
    claim's own smallest effect as the margin. Beside the verdict columns: the row's d_z and sizes."""
    sizes = sorted(runs[SIZE].unique())
    low, high = sizes[0], sizes[-1]
    limited = limited_settings(convergence, [SIZE, "d_z"])
    rows = []
    for metric, margin in (("test_recon", min_effect), ("nmi", nmi_min_effect)):
        gaps = stats.repeat_gaps(runs, [SIZE, "d_z"], metric)
        table = pd.DataFrame([stats.difference_of_means(gaps.loc[(high, d_z)], gaps.loc[(low, d_z)], margin,
                                                        d_z=d_z, sizes=f"{int(high)} vs {int(low)} images",
                                                        metric=f"{metric} gap difference")
                              for d_z in sorted(runs["d_z"].unique())])
        not_counted = {verdicts.condition_of(g, ["d_z", "sizes"]) for _, g in table.iterrows()
                       if any(s.get("d_z", g["d_z"]) == g["d_z"] and s.get(SIZE, low) in (low, high)
                              for s in limited)}
        rows.append(verdicts.verdict_rows(notebook, dataset, CHANGES[metric], table, ["d_z", "sizes"], 0, alpha,
                                          not_counted, claim_id=CHANGE_IDS[metric]).assign(sizes=table["sizes"]))
    return pd.concat(rows, ignore_index=True)


# -- a committed run, judged again ----------------------------------------------------------------
def _reference(folder, tag):
    """The real-data reference a run wrote (<tag>-real_reference.csv) as {metric: value}, or None."""
    table = _read(folder, f"{tag}-real_reference", False)
    return None if table is None else table.drop(columns=["model", "sampler"]).iloc[0].to_dict()


def _read(folder, name, required=True):
    path = folder / f"{name}.csv"
    if not path.exists():
        if required:
            raise FileNotFoundError(f"{path} is missing: the run's tables are incomplete")
        return None
    return pd.read_csv(path)


def rejudge(spec, folder):
    """The verdict rows of the run `spec` (`runspec.RunSpec`) from its tables in `folder` (e.g.
    results/tables), by the same functions its notebook calls, adjusted in their families
    (`families.adjust`): nothing is trained or loaded."""
    return families.adjust(_judged_again(spec, folder), spec.profile, spec.protocol["alpha"])


def _judged_again(spec, folder):
    notebook, dataset, value = spec.notebook_name, spec.dataset, spec.value
    judged = dict(notebook=notebook, dataset=dataset, alpha=spec.protocol["alpha"])
    min_effect = spec.protocol["min_effect"]
    tag = tag_of(notebook, dataset) if notebook in TAGS else None
    if notebook == "02_ae_vs_vae_depth":
        return reconstruction(_read(folder, f"{tag}-runs"), _read(folder, f"{tag}-convergence"), ["d_z", "n_layers"],
                              min_effect=min_effect, pca_check=_read(folder, f"{tag}-pca_check", False),
                              baselines=_read(folder, f"{tag}-baselines", False), **judged)
    if notebook == "03_ae_vs_vae_latent_dim":
        return reconstruction(_read(folder, f"{tag}-runs"), _read(folder, f"{tag}-convergence"), ["d_z", "n_layers"],
                              min_effect=min_effect, trend="d_z", **judged)
    if notebook == "04_beta_vae":
        return beta_verdicts(value("claims"), _read(folder, f"{tag}-runs"), _read(folder, f"{tag}-convergence"),
                             _read(folder, f"{tag}-clusters", False), _read(folder, f"{tag}-generation", False),
                             betas=value("betas"), d_z=value("d_z"), min_effect=min_effect,
                             reference=_reference(folder, tag), **{k: value(k) for k in BETA_SETTINGS}, **judged)
    if notebook == "05_generation":
        scores = _read(folder, f"{tag}-scores", required=False)
        if scores is None:                              # unlabelled data: no generation verdict
            return pd.DataFrame(columns=verdicts.COLUMNS)
        return vae_versus_ae_verdicts(scores, notebook, dataset, value("min_frechet_effect"), judged["alpha"],
                                      _reference(folder, tag))
    if notebook == "06_data_size":
        nmi_effect = value("nmi_min_effect")
        runs, convergence = _read(folder, f"{tag}-runs"), _read(folder, f"{tag}-convergence")
        claims = size_claims(runs, convergence, min_effect=min_effect, nmi_min_effect=nmi_effect,
                             own_size=own_size(spec.protocol, dataset),
                             shared=shared_metrics(spec.profile, dataset, spec.protocol), **judged)
        changes = size_changes(runs, convergence, min_effect=min_effect, nmi_min_effect=nmi_effect, **judged)
        return pd.concat([claims, changes], ignore_index=True)
    raise ValueError(f"{notebook} writes no verdict rows; judged notebooks: 02 to 06")


def equal_rows(found, committed, rtol=1e-4):
    """Differences between two verdict tables (empty list: the same rows, outcomes identical and
    numbers within `rtol`, as the CSV files round them)."""
    problems = []
    if len(found) != len(committed):
        return [f"{len(found)} rows against {len(committed)}"]
    for i, (a, b) in enumerate(zip(found[verdicts.COLUMNS].itertuples(index=False),
                                   committed[verdicts.COLUMNS].itertuples(index=False))):
        for column, x, y in zip(verdicts.COLUMNS, a, b):
            numeric = isinstance(x, (int, float, np.number)) and isinstance(y, (int, float, np.number))
            same = (np.isclose(float(x), float(y), rtol=rtol, atol=1e-9, equal_nan=True) if numeric
                    else str(x) == str(y))
            if not same:
                problems.append(f"row {i} ({b.claim}; {b.condition}) {column}: {x!r} against {y!r}")
    return problems
