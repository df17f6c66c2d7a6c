"""The trivial reconstruction baselines that Frey Face models must beat."""
import math

import pytest
import torch

from vae_utils.core.losses import SCALE_FLOOR
from vae_utils.inference import verdicts
from vae_utils.metrics import baselines


def test_the_mean_and_the_nearest_image_predict_what_they_say():
    train = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.2, 0.9]])
    test = torch.tensor([[0.9, 1.0], [0.1, 0.0]])
    assert torch.allclose(baselines.predictions(train, test, "mean image"), train.mean(0).expand(2, 2))
    assert torch.equal(baselines.predictions(train, test, "nearest training image"), train[[1, 0]])
    with pytest.raises(ValueError, match="allowed: mean image, nearest training image"):
        baselines.predictions(train, test, "median")


def test_a_test_image_seen_in_training_is_looked_up_exactly():
    g = torch.Generator().manual_seed(0)
    train = torch.rand(50, 12, generator=g)
    table = baselines.reconstruction_baselines([train], train[:10], "gaussian_fixed")
    nearest = table[table["baseline"] == "nearest training image"].iloc[0]
    mean = table[table["baseline"] == "mean image"].iloc[0]
    assert nearest["test_mse"] == 0.0 and nearest["test_recon"] == 0.0 and mean["test_mse"] > 0.05


def test_baseline_nll_is_the_gaussian_one_at_the_best_sigma_and_floored():
    d = 560
    assert baselines.gaussian_recon(0.01, d, "gaussian") == pytest.approx(0.5 * d * (math.log(2 * math.pi * 0.01) + 1))
    tiny = baselines.gaussian_recon(1e-8, d, "gaussian")       # σ floored at SCALE_FLOOR
    assert tiny == pytest.approx(0.5 * d * (math.log(2 * math.pi * SCALE_FLOOR ** 2) + 1e-8 / SCALE_FLOOR ** 2))
    assert baselines.gaussian_recon(0.01, d, "gaussian_fixed") == pytest.approx(5.6)
    with pytest.raises(ValueError, match="bernoulli"):
        baselines.reconstruction_baselines([torch.rand(4, 3)], torch.rand(2, 3), "bernoulli")


def test_settings_below_the_baseline_are_not_counted():
    import pandas as pd
    gaps = pd.DataFrame({"d_z": [2, 5], "metric": "test_recon", "gap": [3.0, 3.0], "ci_low": [2.0, 2.0],
                         "ci_high": [4.0, 4.0], "n": 5, "se": 0.36, "df": 4.0, "margin": 1.0, "p": [1e-4, 1e-4],
                         "p_margin": [1e-3, 1e-3], "p_equiv": [0.9, 0.9]})
    rows = verdicts.verdict_rows("02", "frey_face", "claim", gaps, ["d_z"], +1, below_baseline={"d_z=5"}, claim_id="c")
    rows = verdicts.adjust(rows, 2, 0.05)
    assert rows["holds"].tolist() == ["yes", "below-baseline"]
    assert rows["family_low"].iloc[0] > 1.0 and math.isnan(rows["family_low"].iloc[1])
