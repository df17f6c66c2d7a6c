"""Which settings and arms are not counted (optimisation-limited, below a baseline), and
trends with each level left out: the rules every notebook's verdicts share."""
import math

import numpy as np

from ...inference import stats, verdicts
from ...inference.checks import pca_summary


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
    `pca_check` (`convergence.pca_check`), also every setting at a d_z (and, where `by` has it, a
    training-set size) where the linear AEs miss PCA: the optimiser did not reach the optimum
    there, so no model trained on those images at that d_z counts, whichever notebook judges it."""
    per = convergence_by_setting(convergence, by)
    ok = (per["converged"] == per["repeats"]) & per["not_worse_than_linear"]
    bad = dict.fromkeys(tuple(key) for key, good in zip(per[by].itertuples(index=False), ok) if not good)
    settings = [dict(zip(by, key)) for key in bad]
    if pca_check is not None and not pca_check.empty:
        summary = pca_summary(pca_check)
        keys = [k for k in ("d_z", "train_images") if k in summary and (k == "d_z" or k in by)]
        missed = summary.loc[~summary["within_tolerance"].astype(bool), keys]
        settings += [dict(zip(keys, key)) for key in missed.itertuples(index=False)]
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


STRENGTH = {"yes": 3, "no": 3, "equivalent": 3, verdicts.BELOW_MARGIN: 2, "inconclusive": 1}
# how much an outcome says: a decision about the margin, then a sign, then nothing


def _outcome(value_low_high, margin):
    low, high = value_low_high
    return verdicts.decide(low, high, margin, "greater")


def leave_one_out(rows, wide, min_effect, alpha):
    """A trend's verdict row (one row; its slope over the levels, columns of `wide`, one row per
    repeat) with the slope refitted with each level left out (`stats.leave_one_out`, margin
    `min_effect` across the levels kept): loo_low and loo_high, the range of those slopes;
    carried_by, the levels whose omission weakens the result (flips the slope's sign, or loses the
    decision for a weaker outcome or none); stronger_without, those whose omission strengthens it
    (a more decided outcome). Full slope and refits are compared at the (1 − `alpha`) interval, a
    family of one (`verdicts.decide`); "" when none. Unchanged below 3 levels."""
    loo = stats.leave_one_out(wide, lambda kept: min_effect / math.log2(max(kept) / min(kept)))
    if loo.empty:
        return rows
    row = rows.iloc[0]
    full = _outcome(stats.interval(row["value"], row["se"], row["df"], 1 - alpha), row["min_effect"])
    carried, stronger = [], []
    for r in loo.itertuples():
        refit = _outcome(stats.interval(r.gap, r.se, r.df, 1 - alpha), r.margin)
        if np.sign(r.gap) != np.sign(row["value"]) or (refit != full and STRENGTH[refit] <= STRENGTH[full]):
            carried.append(f"{r.without:g}")
        elif refit != full:
            stronger.append(f"{r.without:g}")
    return rows.assign(loo_low=loo["gap"].min(), loo_high=loo["gap"].max(), carried_by=" ".join(carried),
                       stronger_without=" ".join(stronger))


def repeats_of(images, whole):
    """What varies between the repeats of models trained on `images` per repeat (None: the whole
    set) of a training set of `whole` images: disjoint blocks, or the seed only (`verdicts.SHARED`)."""
    return verdicts.DISJOINT if images is not None and images < whole else verdicts.SHARED


def limited_arms(convergence, pca_check=None):
    """Arms ('ae', 'β=…') with a repeat that did not converge; every arm when the linear AEs at the
    grid's d_z miss PCA (`pca_check`), as `limited_settings` marks every setting at that d_z."""
    converged = convergence.groupby("arm")["converged"].all()
    if pca_check is not None and not pca_check.empty and not pca_summary(pca_check)["within_tolerance"].all():
        return set(converged.index)
    return set(converged.index[~converged])
