"""The β sweep's verdict logic on made-up per-model tables (no training): which arms are
paired, in which direction, and how sameness claims and optimisation-limited arms come out."""
from types import SimpleNamespace

import numpy as np
import pandas as pd

from vae_utils.config.claims import AE, SAMPLER_LABELS
from vae_utils.config.claims import BETA_CLAIMS as CLAIMS
from vae_utils.inference import families
from vae_utils.study import judge


def decided(rows):
    """Rows decided in their families, as a run decides them (no other run in the profile)."""
    return families.adjust(rows, {}, 0.05)


def judged(table, betas, limited=()):
    """The verdict functions of notebook 4 bound to a plain per-model table (no data or models)."""
    settings = dict(notebook="04_beta_vae", dataset="mnist", alpha=0.05)
    return SimpleNamespace(
        reconstruction_verdicts=lambda ae_like, vae_like: decided(judge.ae_likeness(
            table, set(limited), ae_like, vae_like, 10, min_effect=1.0, **settings)),
        clustering_verdicts=lambda metric, effect: decided(judge.clustering(table, set(limited), betas, metric,
                                                                            effect, 10, **settings)),
        generation_verdicts=lambda min_effect: decided(judge.beta_generation(table, set(limited), betas, min_effect,
                                                                             10, SAMPLER_LABELS, **settings)))


def runs(means, metric="test_recon", noise=0.05, repeats=5):
    rng = np.random.default_rng(0)
    rows = [{"arm": arm, "model": AE if arm == AE else "vae", "beta": np.nan if arm == AE else float(arm[2:]),
             "repeat": r, metric: value + rng.normal(0, noise)} for arm, value in means.items() for r in range(repeats)]
    return pd.DataFrame(rows)


def test_reconstruction_claims_are_sameness_claims_against_the_right_reference():
    table = runs({AE: 90.0, "β=0": 90.02, "β=0.5": 95.0, "β=1": 100.0, "β=1.5": 100.1})
    rows = judged(table, [0, 0.5, 1, 1.5]).reconstruction_verdicts([0], [0.5, 1.5])
    found = dict(zip(rows["condition"], rows["holds"]))
    assert found == {"beta=0, versus=ae, d_z=10": "yes", "beta=0.5, versus=β=1, d_z=10": "no",
                     "beta=1.5, versus=β=1, d_z=10": "yes"}
    assert rows.loc[rows["condition"].str.startswith("beta=0.5"), "value"].item() < -4   # β=0.5 − β=1
    assert set(rows["claim"]) == {CLAIMS["ae_like"], CLAIMS["vae_like"]}


def test_an_arm_that_did_not_converge_is_marked_not_counted():
    table = runs({AE: 90.0, "β=0": 90.02, "β=0.5": 95.0, "β=1": 100.0, "β=1.5": 100.1})
    rows = judged(table, [0, 0.5, 1, 1.5], limited={"β=1.5"}).reconstruction_verdicts([0], [0.5, 1.5])
    assert rows.set_index("condition").loc["beta=1.5, versus=β=1, d_z=10", "holds"] == "optimisation-limited"
    assert rows.set_index("condition").loc["beta=0.5, versus=β=1, d_z=10", "holds"] == "no"


def test_every_arm_is_limited_when_the_linear_aes_at_its_d_z_miss_pca():
    convergence = pd.DataFrame({"arm": [AE, AE, "β=1", "β=1", "β=4", "β=4"], "converged": [True] * 5 + [False]})
    assert judge.limited_arms(convergence) == {"β=4"}
    check = pd.DataFrame({"d_z": [10, 10], "train_images": [6000, 6000], "repeat": [0, 1],
                          "ae_test_mse": [1.0, 1.05], "pca_test_mse": [1.0, 1.0], "ratio": [1.0, 1.05],
                          "within_tolerance": [True, False]})
    assert judge.limited_arms(convergence, check) == {AE, "β=1", "β=4"}          # as notebook 3 marks d_z = 10
    assert judge.limited_arms(convergence, check.assign(ae_test_mse=1.0, ratio=1.0)) == {"β=4"}


def test_clustering_is_compared_with_the_ae_and_its_trend_over_beta_at_least_one():
    table = runs({AE: 0.50, "β=0.1": 0.9, "β=1": 0.60, "β=1.5": 0.62, "β=4": 0.70, "β=10": 0.78},
                 metric="nmi", noise=0.005)
    rows = judged(table, [0.1, 1, 1.5, 4, 10]).clustering_verdicts("nmi", 0.02)
    versus_ae = rows[rows["claim"] == CLAIMS["clusters"]]
    assert versus_ae["condition"].tolist() == [f"beta={b}, versus=ae, d_z=10" for b in ("1", "1.5", "4", "10")]
    assert (versus_ae["holds"] == "yes").all()
    trend = rows[rows["claim"] == CLAIMS["clusters_trend"]].iloc[0]
    assert trend["condition"] == "comparison=slope per doubling of β (1, 1.5, 4, 10)"   # β = 0.1 is left out
    assert 0.04 < trend["value"] < 0.06 and trend["holds"] == "yes"


def test_generation_compares_each_larger_beta_with_beta_one_per_sampler():
    prior = runs({"β=1": 50.0, "β=4": 40.0, "β=10": 80.0}, metric="frechet", noise=0.5).assign(sampler="prior")
    mixture = runs({"β=1": 30.0, "β=4": 30.2, "β=10": 45.0}, metric="frechet", noise=0.5).assign(sampler="mixture")
    scores = pd.concat([prior, mixture], ignore_index=True).assign(recall=0.5)
    rows = judged(scores, [1, 4, 10]).generation_verdicts(min_effect=5.0)
    found = dict(zip(zip(rows["claim"].str.extract(r"\((.*)\)$")[0], rows["condition"].str[:6]), rows["holds"]))
    assert found == {("own prior", "beta=4"): "yes", ("own prior", "beta=1"): "no",
                     ("fitted mixture (10)", "beta=4"): "equivalent", ("fitted mixture (10)", "beta=1"): "no"}
    assert rows.loc[0, "value"] > 0                                   # FD(β=1) − FD(β=4): positive = β=4 better


def test_claims_a_run_cannot_test_are_refused_before_training():
    import pytest

    from vae_utils.study.beta import check_claims
    betas = [0, 0.5, 1, 1.5]
    check_claims(["ae_like", "clusters"], betas, [0], [0.5], "mnist")
    with pytest.raises(ValueError, match=r"'cluster' in it: allowed: ae_like, vae_like, clusters, generates"):
        check_claims(["cluster"], betas, [0], [0.5], "mnist")
    with pytest.raises(ValueError, match=r"its β values \[0.001\] are not in betas"):
        check_claims(["ae_like"], betas, [0.001], [0.5], "mnist")
    with pytest.raises(ValueError, match="frey_face has no labels"):
        check_claims(["clusters"], betas, [0], [0.5], "frey_face")
