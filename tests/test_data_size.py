"""Notebook 6's verdicts from plain per-model tables: claim rows per size, named so that the report
counts the other notebooks' models once, and the change of each gap between sizes."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from vae_utils.config import protocol
from vae_utils.config.claims import CLAIM
from vae_utils.inference import stats, verdicts
from vae_utils.study import data_size


def runs_table(recon_gap, nmi_gap, sizes=(6000, 60000), repeats=5, d_z=10, seed=0):
    """AE and VAE rows per size and repeat: VAE − AE test_recon ≈ recon_gap[size], NMI ≈ nmi_gap[size]."""
    rng = np.random.default_rng(seed)
    rows = []
    for size in sizes:
        for r in range(repeats):
            noise = rng.normal(0, 0.1)
            rows.append({"model": "ae", "train_images": size, "d_z": d_z, "n_layers": 2, "repeat": r,
                         "test_recon": 90.0 + noise, "nmi": 0.5})
            rows.append({"model": "vae", "train_images": size, "d_z": d_z, "n_layers": 2, "repeat": r,
                         "test_recon": 90.0 + noise + recon_gap[size] + rng.normal(0, 0.1),
                         "nmi": 0.5 + nmi_gap[size] + rng.normal(0, 0.002)})
    return pd.DataFrame(rows)


def convergence_of(runs, limited=()):
    """A per-model convergence table for `runs`: every model converged, except at `limited` settings."""
    table = runs[["model", "train_images", "d_z", "n_layers", "repeat"]].assign(
        epochs_run=40, best_epoch=30, hit_cap=False, final_gain=0.0, best_val_loss=100.0, converged=True)
    for setting in limited:
        hit = np.logical_and.reduce([table[k] == v for k, v in setting.items()])
        table.loc[hit & (table["repeat"] == 0), "converged"] = False
    return table


def sweep_of(runs, limited=(), overrides=None):
    """What the verdict functions read of a measured run (`measure.Measured`; default profile,
    MNIST), as a plain value."""
    return SimpleNamespace(runs=runs, min_effect=1.0, alpha=0.05, notebook="06_data_size", dataset="mnist",
                           profile="default", convergence=convergence_of(runs, limited), sibling_tests={},
                           pca_check=None, scores=None, reference=None,
                           protocol=protocol.load("default", "mnist", overrides))


def claim_rows(sweep, nmi_min_effect):
    """The run's decided claim rows (`data_size.verdict_rows` without the change rows)."""
    rows = data_size.verdict_rows(sweep, nmi_min_effect)
    return rows[~rows["claim_id"].str.endswith("_changes_with_size")].reset_index(drop=True)


def change_rows(sweep, nmi_min_effect):
    """The run's decided change rows."""
    rows = data_size.verdict_rows(sweep, nmi_min_effect)
    return rows[rows["claim_id"].str.endswith("_changes_with_size")].reset_index(drop=True)


def test_claim_rows_per_size_keep_the_other_notebooks_conditions_at_their_size():
    sweep = sweep_of(runs_table({6000: -1.5, 60000: 3.0}, {6000: 0.0, 60000: 0.05}))
    rows = claim_rows(sweep, nmi_min_effect=0.02).set_index("condition")
    assert rows.loc["d_z=10, n_layers=2", "holds"] == "no"                        # as notebook 3 names it
    assert rows.loc["d_z=10, n_layers=2, train_images=60000", "holds"] == "yes"
    assert rows.loc["beta=1, versus=ae, d_z=10", "holds"] == "equivalent"         # as notebook 4 names it
    assert rows.loc["beta=1, versus=ae, d_z=10, train_images=60000", "holds"] == "yes"
    assert set(rows["claim"]) == {CLAIM, "β-VAE (β ≥ 1) clusters better than an AE"}
    assert rows.loc["d_z=10, n_layers=2", "repeats"] == verdicts.DISJOINT           # disjoint blocks of 6,000
    assert rows.loc["d_z=10, n_layers=2, train_images=60000", "repeats"] == verdicts.SHARED   # one whole set
    assert set(change_rows(sweep, 0.02)["repeats"]) == {verdicts.SHARED}


def test_rows_of_models_trained_on_another_protocol_keep_their_size():
    """Notebook 6 trained on another protocol than notebooks 3 and 4: no row is theirs."""
    sweep = sweep_of(runs_table({6000: -1.5, 60000: 3.0}, {6000: 0.0, 60000: 0.05}), overrides={"batch_size": 64})
    conditions = set(claim_rows(sweep, 0.02)["condition"])
    assert "d_z=10, n_layers=2, train_images=6000" in conditions
    assert "beta=1, versus=ae, d_z=10, train_images=6000" in conditions


def test_a_gap_that_changes_with_size_is_found_and_one_that_does_not_is_equivalent():
    changed = change_rows(sweep_of(runs_table({6000: -1.5, 60000: 3.0}, {6000: 0.0, 60000: 0.0})), 0.02)
    recon, nmi = changed.iloc[0], changed.iloc[1]
    assert recon["holds"] == "yes" and recon["value"] == pytest.approx(4.5, abs=0.3)
    assert recon["condition"] == "d_z=10, sizes=60000 vs 6000 images"
    assert nmi["holds"] == "equivalent"                                           # both gaps 0 within ±0.02
    fell = change_rows(sweep_of(runs_table({6000: 3.0, 60000: -1.5}, {6000: 0.0, 60000: 0.0})), 0.02)
    assert fell.iloc[0]["holds"] == "yes"                                         # two-sided: never "no"
    same = change_rows(sweep_of(runs_table({6000: 2.0, 60000: 2.2}, {6000: 0.0, 60000: 0.0})), 0.02)
    assert same.iloc[0]["holds"] == "equivalent"


def test_an_optimisation_limited_size_is_not_counted():
    sweep = sweep_of(runs_table({6000: -1.5, 60000: 3.0}, {6000: 0.0, 60000: 0.05}),
                     limited=[{"train_images": 60000, "d_z": 10}])
    rows = claim_rows(sweep, 0.02).set_index("condition")
    assert rows.loc["d_z=10, n_layers=2, train_images=60000", "holds"] == "optimisation-limited"
    assert rows.loc["d_z=10, n_layers=2", "holds"] == "no"
    assert set(change_rows(sweep, 0.02)["holds"]) == {"optimisation-limited"}


def scores_table(fd_gap, sizes=(6000, 60000), repeats=5, d_z=10, seed=0):
    """Generation scores per size, repeat, model and sampler: every AE sampler's Fréchet distance
    is 40, the VAE's own prior and both fitted samplers 40 − fd_gap[size] (± a little)."""
    rng = np.random.default_rng(seed)
    rows = []
    for size in sizes:
        for r in range(repeats):
            for sampler in ("standard_normal", "gaussian", "mixture"):
                rows.append({"model": "ae", "sampler": sampler, "train_images": size, "d_z": d_z, "repeat": r,
                             "frechet": 40.0 + rng.normal(0, 0.2), "recall": 0.5})
            for sampler in ("prior", "gaussian", "mixture"):
                rows.append({"model": "vae", "sampler": sampler, "train_images": size, "d_z": d_z, "repeat": r,
                             "frechet": 40.0 - fd_gap[size] + rng.normal(0, 0.2), "recall": 0.5})
    return pd.DataFrame(rows)


def generation_rows(sweep):
    rows = data_size.verdict_rows(sweep, 0.02, min_frechet_effect=5.0)
    return rows[rows["claim_id"] == "vae_generates_better"].reset_index(drop=True)


def test_claim_2_is_judged_at_both_sizes_and_named_as_notebook_5_at_its_own():
    sweep = sweep_of(runs_table({6000: -1.5, 60000: 3.0}, {6000: 0.0, 60000: 0.05}))
    sweep.scores = scores_table({6000: 10.0, 60000: 0.0})
    rows = generation_rows(sweep)
    assert len(rows) == 10 and set(rows["family"]) == {"claim 2 on mnist"}             # 5 comparisons x 2 sizes
    own = rows[rows["condition"] == "d_z=10"]                                           # as notebook 5 names it
    whole = rows[rows["condition"] == "d_z=10, train_images=60000"]
    assert len(own) == len(whole) == 5
    assert set(own["holds"]) == {"yes"} and set(whole["holds"]) == {"equivalent"}
    assert set(whole["repeats"]) == {verdicts.SHARED} and set(own["repeats"]) == {verdicts.DISJOINT}
    limited = sweep_of(sweep.runs, limited=[{"train_images": 60000, "d_z": 10}])
    limited.scores = sweep.scores
    assert set(generation_rows(limited).set_index("condition").loc["d_z=10, train_images=60000", "holds"]) == {
        "optimisation-limited"}


def test_a_size_where_the_linear_aes_miss_pca_is_optimisation_limited():
    sweep = sweep_of(runs_table({6000: -1.5, 60000: 3.0}, {6000: 0.0, 60000: 0.05}))
    sweep.pca_check = pd.DataFrame({"d_z": [10] * 4, "train_images": [6000, 6000, 60000, 60000],
                                    "repeat": [0, 1, 0, 1], "ae_test_mse": [1.0, 1.0, 1.1, 1.0],
                                    "pca_test_mse": [1.0] * 4, "ratio": [1.0, 1.0, 1.1, 1.0],
                                    "within_tolerance": [True, True, False, True]})
    rows = claim_rows(sweep, 0.02).set_index("condition")
    assert rows.loc["d_z=10, n_layers=2, train_images=60000", "holds"] == "optimisation-limited"
    assert rows.loc["d_z=10, n_layers=2", "holds"] == "no"


def test_the_welch_difference_matches_its_definition():
    later, earlier = np.array([4.1, 3.8, 4.4, 4.0, 3.9]), np.array([0.2, -0.3, 0.1, 0.4, -0.1, 0.0])
    row = stats.difference_of_means(later, earlier, 1.0)
    a_var, b_var = later.var(ddof=1) / 5, earlier.var(ddof=1) / 6
    df = (a_var + b_var) ** 2 / (a_var ** 2 / 4 + b_var ** 2 / 5)               # Welch–Satterthwaite
    from scipy import stats as sp
    half = sp.t.ppf(0.975, df) * np.sqrt(a_var + b_var)
    assert row["gap"] == pytest.approx(later.mean() - earlier.mean())
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((row["gap"] - half, row["gap"] + half))
    assert row["p"] < 1e-6 and row["p_equiv"] > 0.5


def test_a_two_sided_claim_is_yes_either_way_and_never_no():
    # decide(low, high, margin, alternative): from the interval alone
    assert verdicts.decide(-4.0, -2.0, 1.0, "two-sided") == "yes"
    assert verdicts.decide(2.0, 4.0, 1.0, "two-sided") == "yes"
    assert verdicts.decide(-4.0, -0.5, 1.0, "two-sided") == verdicts.BELOW_MARGIN
    assert verdicts.decide(-0.8, -0.2, 1.0, "two-sided") == "equivalent"
    assert verdicts.decide(-3.0, 0.5, 1.0, "two-sided") == "inconclusive"
    assert verdicts.decide(-4.0, -2.0, 1.0, "greater") == "no"


@pytest.mark.parametrize("dataset, sizes, wrong", [
    ("frey_face", [6000, None], "dataset='frey_face'"),
    ("mnist", [12000, 6000], "ascending"),
    ("mnist", [None, 6000], "must come last"),
    ("mnist", [6000], "at least 2 value"),
])
def test_a_grid_the_notebook_cannot_use_is_refused_naming_what_is_wrong(dataset, sizes, wrong):
    with pytest.raises(ValueError, match=wrong):
        data_size.check_grid(dataset, sizes)
