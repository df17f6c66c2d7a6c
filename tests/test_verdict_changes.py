"""scripts/verdict_changes.py: which verdict rows changed outcome between two sets of results."""
import numpy as np
import pandas as pd


def rows(*found):
    """Verdict rows of claim 1 at the given (d_z, value, holds)."""
    return pd.DataFrame([{"dataset": "mnist", "metric": "test_recon", "claim_id": "recon", "d_z": d_z, "n_layers": 2,
                          "train_images": np.nan, "beta": np.nan, "versus": "ae", "sampler": np.nan,
                          "versus_sampler": np.nan, "claim": "AE reconstructs better",
                          "condition": f"d_z={d_z}", "value": value, "family_low": value - 1,
                          "family_high": value + 1, "holds": holds} for d_z, value, holds in found])


def test_only_rows_whose_outcome_changed_or_that_appeared_are_listed(load_script):
    changes = load_script("verdict_changes").changes
    old = rows((2, 0.5, "inconclusive"), (10, 3.0, "yes"), (50, 9.0, "yes"))
    new = rows((2, 0.6, "inconclusive"), (10, 0.9, "inconclusive"), (20, 4.0, "yes")).astype({"d_z": float})
    found = changes(old, new)
    # d_z = 2 moved in value only; 10 changed outcome; 50 disappeared; 20 is new (d_z read as 10.0 alike)
    assert sorted(found["d_z"]) == ["10", "20", "50"]
    changed = found[found["d_z"] == "10"].iloc[0]
    assert (changed["holds_old"], changed["holds_new"]) == ("yes", "inconclusive")
    assert found[found["d_z"] == "20"]["_merge"].iloc[0] == "right_only"


def test_results_from_before_the_family_interval_are_compared(load_script):
    changes = load_script("verdict_changes").changes
    old = rows((10, 3.0, "yes")).drop(columns=["family_low", "family_high"])
    found = changes(old, rows((10, 3.0, "no")))
    assert len(found) == 1 and np.isnan(found["family_low_old"].iloc[0])
