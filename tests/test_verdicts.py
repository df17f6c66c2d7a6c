import math

import numpy as np
import pandas as pd
import pytest

from vae_utils import experiments, verdicts


def runs_table(gaps_by_dz):
    """AE and VAE rows over 3 folds with a known VAE − AE gap per d_z."""
    rows = []
    for d_z, gap in gaps_by_dz.items():
        for fold, noise in enumerate([-0.001, 0.0, 0.001]):
            rows.append({"model": "ae", "d_z": d_z, "fold": fold, "test_bce": 0.10 + noise})
            rows.append({"model": "vae", "d_z": d_z, "fold": fold, "test_bce": 0.10 + noise + gap + 0.0005 * fold})
    return pd.DataFrame(rows)


def test_t_interval_matches_scipy():
    from scipy import stats
    values = [1.0, 2.0, 4.0]
    mean, low, high = experiments.t_interval(values)
    expected = stats.t.interval(0.95, 2, loc=np.mean(values), scale=stats.sem(values))
    assert mean == pytest.approx(7 / 3) and (low, high) == pytest.approx(expected)
    assert math.isnan(experiments.t_interval([1.0])[1])


def test_paired_gap_and_verdicts():
    runs = runs_table({2: 0.02, 10: 0.0, 50: -0.02})
    gaps = experiments.paired_gap(runs, ["d_z"], "test_bce")
    assert gaps["gap"].round(4).tolist() == [0.0205, 0.0005, -0.0195]
    rows = verdicts.verdict_rows("nb", "mnist", "AE better", gaps, ["d_z"], +1)
    assert rows["holds"].tolist() == ["yes", "inconclusive", "no"]
    assert rows["condition"].tolist() == ["d_z=2", "d_z=10", "d_z=50"]


def test_gap_trend_is_paired_by_fold():
    trend = experiments.gap_trend(runs_table({2: 0.0, 50: 0.03}), "d_z", "test_bce").iloc[0]
    assert trend["gap"] == pytest.approx(0.03) and trend["ci_low"] > 0
    assert trend["comparison"] == "d_z=2 to d_z=50"


def test_holds_direction():
    assert verdicts.holds(1.0, 2.0, +1) == "yes"
    assert verdicts.holds(1.0, 2.0, -1) == "no"
    assert verdicts.holds(-1.0, 2.0, +1) == "inconclusive"
    assert verdicts.holds(float("nan"), 1.0, +1) == "inconclusive"


def test_record_replaces_a_notebooks_rows_and_writes_the_report(tmp_path, monkeypatch):
    monkeypatch.setattr(verdicts, "results_dir", lambda profile: tmp_path)
    gaps = experiments.paired_gap(runs_table({2: 0.02}), ["d_z"], "test_bce")
    verdicts.record(verdicts.verdict_rows("nb", "mnist", "AE better", gaps, ["d_z"], +1))
    verdicts.record(verdicts.verdict_rows("nb", "fashion_mnist", "AE better", gaps, ["d_z"], +1))
    verdicts.record(verdicts.verdict_rows("nb", "mnist", "AE better", gaps, ["d_z"], +1))
    table = pd.read_csv(tmp_path / "verdicts.csv")
    assert len(table) == 2 and set(table["dataset"]) == {"mnist", "fashion_mnist"}
    assert {"notebook", "dataset", "claim", "metric", "value", "ci_low", "ci_high", "holds"} <= set(table)
    assert "| nb | mnist | AE better | d_z=2 |" in (tmp_path / "README.md").read_text()


def test_pick_finds_exactly_one_result():
    from vae_utils.training import TrainConfig
    configs = experiments.grid(dict(dataset="mnist", n_layers=2, epochs=1), model=["ae", "vae"], d_z=[2, 5])
    results = {c: f"{c.model}-{c.d_z}" for c in configs}
    assert experiments.pick(results, model="vae", d_z=5) == "vae-5"
    with pytest.raises(ValueError, match="2 trained models match"):
        experiments.pick(results, d_z=2)
    assert isinstance(configs[0], TrainConfig)
