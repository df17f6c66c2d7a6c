import numpy as np
import pandas as pd
import pytest

from vae_utils.config import paths, runspec
from vae_utils.inference import families, verdicts

RESULTS = paths.results_dir("default", create=False)
RUNS = [r for r in runspec.runs_of("default") if not r.startswith("01_")]


@pytest.mark.parametrize("run", RUNS)
def test_a_runs_planned_tests_are_the_rows_it_wrote(run):
    rows = verdicts.read(RESULTS / "verdicts" / f"{run}.csv")
    found = rows["claim_id"].map(families.claim_of).value_counts().to_dict() if len(rows) else {}
    assert families.planned(runspec.resolve("default", run)) == found


def test_every_family_is_one_claim_on_one_dataset_and_counts_every_row_of_it():
    rows = verdicts.read(RESULTS / "verdicts.csv")
    for family, part in rows.groupby("family"):
        assert part["dataset"].nunique() == 1 and part["claim_id"].map(families.claim_of).nunique() == 1, family
        assert (part["family_tests"] == len(part)).all(), family      # the committed runs are the planned ones


def test_no_yes_or_no_row_has_an_interval_inside_its_margin():
    rows = verdicts.read(RESULTS / "verdicts.csv")
    decided = rows[rows["holds"].isin(["yes", "no"]) & (rows["alternative"] != verdicts.EQUIVALENCE)]
    beyond = (decided["ci_low"] > decided["min_effect"]) | (decided["ci_high"] < -decided["min_effect"])
    assert len(decided) > 10 and beyond.all(), decided.loc[~beyond, ["claim", "condition", "value", "ci_low"]]


def fake_rows(notebook, dataset, claim_id, p_values):
    return pd.DataFrame({"notebook": notebook, "dataset": dataset, "claim": "c", "condition": [f"d_z={i}" for i in
                         range(len(p_values))], "value": 5.0, "p": p_values, "p_margin": p_values, "p_equiv": 1.0,
                         "alternative": "greater", "holds": "", "claim_id": claim_id, "min_effect": 1.0})


def test_a_runs_share_of_alpha_is_its_rows_over_the_family():
    # claim 1 on MNIST: 4 rows in notebook 2, 5 in 3, 4 in 6 (default profile)
    assert families.family_tests("default", "mnist", 1, "02_ae_vs_vae_depth--mnist", 4) == 13
    others = families.sibling_tests("default", "02_ae_vs_vae_depth--mnist")      # resolved once, a value
    assert others[1] == 9
    rows = families.adjust(fake_rows("02_ae_vs_vae_depth", "mnist", "ae_reconstructs_better",
                                     [0.001, 0.004, 0.02, 0.5]), others, 0.05)
    holm = np.array([0.004, 0.012, 0.04, 0.5])                       # Holm within the run's 4 rows
    assert rows["p_holm"].to_numpy() == pytest.approx(np.minimum(1, holm * 13 / 4))
    assert rows["holds"].tolist() == ["yes", "yes", "inconclusive", "inconclusive"]
    assert set(rows["family"]) == {"claim 1 on mnist"} and set(rows["family_tests"]) == {13}


def test_an_unknown_claim_id_is_refused():
    with pytest.raises(ValueError, match="belongs to no family"):
        families.adjust(fake_rows("02_ae_vs_vae_depth", "mnist", "made_up", [0.01]), {}, 0.05)
