"""Notebook 6: claims 1 and 4 at each training-set size, and whether their gaps change with it."""
import numpy as np
import pandas as pd

from ...config.claims import BETA_CLAIMS as CLAIMS
from ...config.claims import CHANGE_IDS, CHANGES, CLAIM, CLAIM_ID, SIZE
from ...inference import stats, verdicts
from .generation import vae_versus_ae_verdicts
from .rules import limited_settings, marked, repeats_of


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


def size_claims(runs, convergence, *, notebook, dataset, min_effect, alpha, nmi_min_effect, own_size, whole,
                shared=(), pca_check=None):
    """Claim 1 (VAE − AE test reconstruction, nats per image) and claim 4 (β = 1 − AE k-means NMI
    of the codes) at every size and d_z. `shared`: the metrics whose rows at `own_size` are another
    notebook's models (named as there); `whole`: the images of the whole training set (its repeats
    share their data). `pca_check`: the linear AEs against PCA per size and d_z (a miss makes the
    setting optimisation-limited). Beside the verdict columns: the row's d_z and size."""
    by, parts = [SIZE, "d_z"], []
    limited = limited_settings(convergence, by, pca_check)
    recon = stats.paired_gap(runs, by, "test_recon", min_effect)
    recon["n_layers"] = runs["n_layers"].iloc[0]
    nmi = stats.paired_gap(runs, by, "nmi", nmi_min_effect).assign(beta="1", versus="ae")
    for claim, key, gaps, columns, metric in ((CLAIM, CLAIM_ID, recon, ["d_z", "n_layers", SIZE], "test_recon"),
                                              (CLAIMS["clusters"], "clusters", nmi, ["beta", "versus", "d_z", SIZE],
                                               "nmi")):
        rows = verdicts.verdict_rows(notebook, dataset, claim, gaps, columns, +1, marked(gaps, limited, columns),
                                     claim_id=key)
        rows = _named(rows, gaps, columns, own_size, metric in shared)
        parts.append(rows.assign(images=gaps[SIZE].to_numpy(),
                                 repeats=[repeats_of(size, whole) for size in gaps[SIZE]]))
    return pd.concat(parts, ignore_index=True)


def size_changes(runs, convergence, *, notebook, dataset, min_effect, alpha, nmi_min_effect, whole, pca_check=None):
    """Per claim and d_z: does the gap at the largest size differ from the gap at the smallest?
    A two-sample (Welch) interval on the difference of the two gaps' means, two-sided, with the
    claim's own smallest effect as the margin; its repeats share data when a size is the `whole`
    set. Beside the verdict columns: the row's d_z and sizes."""
    sizes = sorted(runs[SIZE].unique())
    low, high = sizes[0], sizes[-1]
    limited = limited_settings(convergence, [SIZE, "d_z"], pca_check)
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
        rows.append(verdicts.verdict_rows(notebook, dataset, CHANGES[metric], table, ["d_z", "sizes"], 0,
                                          not_counted, claim_id=CHANGE_IDS[metric])
                    .assign(sizes=table["sizes"], repeats=repeats_of(high, whole)))
    return pd.concat(rows, ignore_index=True)


def size_generation(scores, convergence, *, notebook, dataset, min_effect, alpha, own_size, whole, reference=None,
                    shared=(), pca_check=None):
    """Claim 2 at each training-set size scored (`scores`: notebook 5's sample scores with a SIZE
    column): notebook 5's comparisons (`vae_versus_ae_verdicts`, the study's and like for like)
    per d_z and size, with its saturation rule against the real-data `reference`; settings whose
    models are optimisation-limited are not counted. With "frechet" in `shared`, the rows at
    `own_size` are notebook 5's models and are named as there (counted once)."""
    by = ["d_z", SIZE]
    rows = vae_versus_ae_verdicts(scores, notebook, dataset, min_effect, alpha, reference,
                                  limited=limited_settings(convergence, by, pca_check), by=by)
    sizes = rows[SIZE].to_numpy()
    rows = _named(rows, rows, by, own_size, "frechet" in shared)
    return rows.assign(images=sizes, repeats=[repeats_of(size, whole) for size in sizes])
