"""Does the answer depend on how much data the models see? Notebook 6's measurements and verdicts.

Its sweep (`vae_utils.sweep.Sweep` over an `n_train` axis) trains AE and VAE at several
training-set sizes; this module adds what only this question needs: each model's reconstruction
of its own training images (and so its generalisation gap), the claim-4 clustering scores of the
same models, the claim-1 and claim-4 verdict rows at every size, and whether each gap changes
between the smallest and the largest size.
"""
import pandas as pd

from . import latents, paths, protocol, stats, verdicts
from .beta import CLAIMS
from .data import VAL_FRACTION, config_split
from .sweep import CLAIM, SIZE
from .training import evaluate

DATASETS = ("mnist", "fashion_mnist")
TRAIN_EVAL_IMAGES = 5000        # training images per model on which its training reconstruction is measured
VIEW = "active_standardised"    # the codes claim 4 is judged on, as in notebook 4
SHARED = {"test_recon": "03_ae_vs_vae_latent_dim", "nmi": "04_beta_vae"}   # the run whose models each claim shares
CHANGES = {"test_recon": "the VAE − AE reconstruction gap changes with the training-set size",
           "nmi": "the β = 1 − AE clustering (NMI) gap changes with the training-set size"}


def check_grid(dataset, sizes):
    """ValueError naming a dataset or a size list the notebook cannot use, before any training."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset={dataset!r} is not allowed here; allowed: {', '.join(DATASETS)} "
                         f"(labelled, for claim 4)")
    known = [s for s in sizes if s is not None]
    if len(set(sizes)) != len(sizes) or len(sizes) < 2 or known != sorted(known):
        raise ValueError(f"n_train_list={sizes!r} is not allowed; it must hold at least two different sizes, "
                         f"ascending, optionally ending with None (the whole training set)")
    if None in sizes[:-1]:
        raise ValueError(f"n_train_list={sizes!r}: None (the whole training set) must come last")


def measure(sweep):
    """Add to `sweep.runs` (and its runs table): `train_recon`, the reconstruction term at the
    posterior mean of the first TRAIN_EVAL_IMAGES of each model's own training images;
    `generalisation_gap` = test_recon − train_recon (nats per image; positive: worse on unseen
    images); and the clustering scores of the codes in view VIEW (`latents.code_scores`), with
    k-means and the probes fitted on as many training codes at every size as the smallest size
    has (so that a larger size does not score better only by fitting on more codes)."""
    data, rows = sweep.data, []
    fitted = int(round(min(sweep.runs[SIZE]) * (1 - VAL_FRACTION)))
    for config, result in sweep.results.items():
        train_idx = config_split(config, len(data.train_x))[0]
        seen, fit = train_idx[:TRAIN_EVAL_IMAGES], train_idx[:fitted]
        scores = latents.code_scores(result.model, data.train_x[fit], data.train_y[fit], data.test_x,
                                     data.test_y, seed=config.repeat, only=(VIEW,))[VIEW]
        rows.append({"train_recon": evaluate(result.model, data.train_x[seen], config.likelihood)["recon"], **scores})
    added = pd.DataFrame(rows)
    runs = pd.concat([sweep.runs.drop(columns=[c for c in added if c in sweep.runs]), added], axis=1)
    runs["generalisation_gap"] = runs["test_recon"] - runs["train_recon"]
    sweep.runs = runs
    runs.to_csv(sweep.tables / f"{sweep.tag}-runs.csv", index=False)
    return runs


def default_size(sweep):
    """Images per repeat of the profile's own protocol: the size every other notebook uses."""
    return sweep.protocol["n_train"] or len(sweep.data.train_x)


def shares_models(sweep, metric):
    """True when the run of this profile and dataset whose models claim `metric` is also judged
    on (`SHARED`) trains on this sweep's protocol: then its models at `default_size` are these."""
    folder = paths.PROJECT_ROOT / "params" / paths.params_profile(sweep.profile)
    run = folder / f"{SHARED[metric]}--{sweep.dataset}.yaml"
    if not run.exists():
        return False
    overrides = protocol.read_yaml(run, "a run's parameters").get("protocol") or {}
    return protocol.load(sweep.profile, sweep.dataset, overrides) == sweep.protocol


def _named(rows, gaps, sweep, columns, shared):
    """With `shared`, the conditions at the profile's own size read as in the run whose models they
    are (so the report counts them once): `columns` without the size; elsewhere with it."""
    own = default_size(sweep)
    rows = rows.copy()
    rows["condition"] = [verdicts.condition_of(g, [c for c in columns if c != SIZE])
                         if shared and g[SIZE] == own else condition for (_, g), condition in
                         zip(gaps.iterrows(), rows["condition"])]
    return rows


def _limited(sweep, gaps, columns):
    """Condition strings of `gaps` rows at a setting the sweep found optimisation-limited."""
    return {verdicts.condition_of(g, columns) for _, g in gaps.iterrows()
            if any(all(g[k] == v for k, v in s.items()) for s in sweep.limited)}


def claim_rows(sweep, nmi_min_effect):
    """Claim 1 (VAE − AE test reconstruction, nats per image) and claim 4 (β = 1 − AE k-means
    NMI of the codes) at every size and d_z: one Holm family per claim, the decision rule of
    notebooks 3 and 4. Beside the verdict columns: the row's d_z and size."""
    by, parts = [SIZE, "d_z"], []
    recon = stats.paired_gap(sweep.runs, by, sweep.metric, sweep.min_effect)
    recon["n_layers"] = sweep.runs["n_layers"].iloc[0]
    nmi = stats.paired_gap(sweep.runs, by, "nmi", nmi_min_effect).assign(beta="1", versus="ae")
    for claim, gaps, columns, metric in ((CLAIM, recon, ["d_z", "n_layers", SIZE], sweep.metric),
                                         (CLAIMS["clusters"], nmi, ["beta", "versus", "d_z", SIZE], "nmi")):
        rows = verdicts.verdict_rows(sweep.notebook, sweep.dataset, claim, gaps, columns, +1, sweep.alpha,
                                     _limited(sweep, gaps, columns))
        rows = _named(rows, gaps, sweep, columns, shares_models(sweep, metric))
        parts.append(rows.assign(d_z=gaps["d_z"].to_numpy(), **{SIZE: gaps[SIZE].to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def change_rows(sweep, nmi_min_effect):
    """Per claim and d_z: does the gap at the largest size differ from the gap at the smallest?
    A two-sample (Welch) interval on the difference of the two gaps' means (their repeats are
    different models, independent but for sharing a seed per repeat and the test set),
    two-sided, with the claim's own smallest effect as the margin. Beside
    the verdict columns: the row's d_z and sizes."""
    sizes = sorted(sweep.runs[SIZE].unique())
    low, high = sizes[0], sizes[-1]
    rows = []
    for metric, margin in ((sweep.metric, sweep.min_effect), ("nmi", nmi_min_effect)):
        gaps = stats.repeat_gaps(sweep.runs, [SIZE, "d_z"], metric)
        table = pd.DataFrame([stats.difference_of_means(gaps.loc[(high, d_z)], gaps.loc[(low, d_z)], margin,
                                                        d_z=d_z, sizes=f"{int(high)} vs {int(low)} images",
                                                        metric=f"{metric} gap difference")
                              for d_z in sorted(sweep.runs["d_z"].unique())])
        limited = {verdicts.condition_of(g, ["d_z", "sizes"]) for _, g in table.iterrows()
                   if any(s.get("d_z", g["d_z"]) == g["d_z"] and s.get(SIZE, low) in (low, high)
                          for s in sweep.limited)}
        rows.append(verdicts.verdict_rows(sweep.notebook, sweep.dataset, CHANGES[metric], table, ["d_z", "sizes"],
                                          0, sweep.alpha, limited).assign(d_z=table["d_z"], sizes=table["sizes"]))
    return pd.concat(rows, ignore_index=True)


def gaps_by_size(sweep, metric, margin):
    """The paired VAE − AE gap of `metric` per size and d_z, with its interval (for the figures)."""
    return stats.paired_gap(sweep.runs, [SIZE, "d_z"], metric, margin)


def answers(rows):
    """Claim rows (`claim_rows`) as a reading aid: per claim and d_z, the outcome and the gap at
    each size side by side."""
    shown = rows.assign(answer=[f"{h} ({v:+.3g} [{lo:+.3g}, {hi:+.3g}])" for h, v, lo, hi in
                                zip(rows["holds"], rows["value"], rows["ci_low"], rows["ci_high"])])
    return shown.pivot_table(index=["claim", "d_z"], columns=SIZE, values="answer", aggfunc="first")
