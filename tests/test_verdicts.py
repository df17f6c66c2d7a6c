import math

import numpy as np
import pandas as pd
import pytest

from vae_utils import experiments, stats, verdicts


def runs_table(gaps_by_dz):
    """AE and VAE rows over 3 folds with a known VAE − AE gap per d_z."""
    rows = []
    for d_z, gap in gaps_by_dz.items():
        for fold, noise in enumerate([-0.001, 0.0, 0.001]):
            rows.append({"model": "ae", "d_z": d_z, "fold": fold, "test_bce": 0.10 + noise})
            rows.append({"model": "vae", "d_z": d_z, "fold": fold, "test_bce": 0.10 + noise + gap + 0.0005 * fold})
    return pd.DataFrame(rows)


def test_t_interval_matches_scipy():
    from scipy import stats as scipy_stats
    values = [1.0, 2.0, 4.0]
    mean, low, high = stats.t_interval(values)
    expected = scipy_stats.t.interval(0.95, 2, loc=np.mean(values), scale=scipy_stats.sem(values))
    assert mean == pytest.approx(7 / 3) and (low, high) == pytest.approx(expected)
    assert math.isnan(stats.t_interval([1.0])[1])


def test_paired_gap_and_verdicts():
    runs = runs_table({2: 0.02, 10: 0.0, 50: -0.02})
    gaps = stats.paired_gap(runs, ["d_z"], "test_bce")
    assert gaps["gap"].round(4).tolist() == [0.0205, 0.0005, -0.0195]
    rows = verdicts.verdict_rows("nb", "mnist", "AE better", gaps, ["d_z"], +1)
    assert rows["holds"].tolist() == ["yes", "inconclusive", "no"]
    assert rows["condition"].tolist() == ["d_z=2", "d_z=10", "d_z=50"]


def test_gap_trend_is_paired_by_fold():
    trend = stats.gap_trend(runs_table({2: 0.0, 50: 0.03}), "d_z", "test_bce").iloc[0]
    assert trend["gap"] == pytest.approx(0.03) and trend["ci_low"] > 0
    assert trend["comparison"] == "d_z=2 to d_z=50"


def test_holds_direction():
    assert verdicts.holds(1.0, 2.0, +1) == "yes"
    assert verdicts.holds(1.0, 2.0, -1) == "no"
    assert verdicts.holds(-1.0, 2.0, +1) == "inconclusive"
    assert verdicts.holds(float("nan"), 1.0, +1) == "inconclusive"


def test_each_run_writes_its_verdicts_and_the_report_takes_exactly_the_profiles_runs(tmp_path, monkeypatch,
                                                                                    load_script):
    from vae_utils import paths
    report = load_script("report")
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(report, "PROJECT_ROOT", tmp_path)
    (tmp_path / "params" / "default").mkdir(parents=True)
    for run in ("02_x--mnist", "02_x--fashion_mnist"):
        (tmp_path / "params" / "default" / f"{run}.yaml").write_text("")
    gaps = stats.paired_gap(runs_table({2: 0.02}), ["d_z"], "test_bce")
    for run, dataset in (("02_x--mnist", "mnist"), ("02_x--fashion_mnist", "fashion_mnist"),
                         ("02_x--mnist", "mnist"), ("02_x--deleted", "frey_face")):   # a rerun; a gone run
        verdicts.save(verdicts.verdict_rows("02_x", dataset, "AE better", gaps, ["d_z"], +1), run,
                      key_figures=[f"fig-{dataset}"])
    folder = tmp_path / "results" / "verdicts"
    assert sorted(p.name for p in folder.iterdir()) == [
        "02_x--deleted.csv", "02_x--deleted.figures", "02_x--fashion_mnist.csv", "02_x--fashion_mnist.figures",
        "02_x--mnist.csv", "02_x--mnist.figures"]        # no temporary files left
    report.main("default")
    table = pd.read_csv(tmp_path / "results" / "verdicts.csv")
    assert list(table["dataset"]) == ["fashion_mnist", "mnist"]     # run order; the deleted run is gone
    assert {"notebook", "dataset", "claim", "metric", "value", "ci_low", "ci_high", "holds"} <= set(table)
    assert not (folder / "02_x--deleted.csv").exists()
    readme = (tmp_path / "results" / "README.md").read_text()
    assert "| 02_x | mnist | AE better | d_z=2 |" in readme and "frey_face" not in readme


def test_pick_finds_exactly_one_result():
    from vae_utils.training import TrainConfig
    configs = experiments.grid(dict(dataset="mnist", n_layers=2, epochs=1), model=["ae", "vae"], d_z=[2, 5])
    results = {c: f"{c.model}-{c.d_z}" for c in configs}
    assert experiments.pick(results, model="vae", d_z=5) == "vae-5"
    with pytest.raises(ValueError, match="2 trained models match"):
        experiments.pick(results, d_z=2)
    assert isinstance(configs[0], TrainConfig)
