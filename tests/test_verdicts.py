import math

import numpy as np
import pandas as pd
import pytest

from vae_utils.engine import experiments
from vae_utils.inference import stats, verdicts

NOISE = [-0.2, -0.1, 0.0, 0.1, 0.2]


def runs_table(gaps_by_dz):
    """AE and VAE rows over 5 repeats with a known VAE − AE gap (nats per image) per d_z."""
    rows = []
    for d_z, gap in gaps_by_dz.items():
        for repeat, noise in enumerate(NOISE):
            rows.append({"model": "ae", "d_z": d_z, "repeat": repeat, "test_recon": 80 + 3 * noise})
            rows.append({"model": "vae", "d_z": d_z, "repeat": repeat,
                         "test_recon": 80 + 3 * noise + gap + 0.1 * noise * (repeat % 2)})
    return pd.DataFrame(rows)


def test_t_interval_matches_scipy():
    from scipy import stats as scipy_stats
    values = [1.0, 2.0, 4.0]
    mean, low, high = stats.t_interval(values)
    expected = scipy_stats.t.interval(0.95, 2, loc=np.mean(values), scale=scipy_stats.sem(values))
    assert mean == pytest.approx(7 / 3) and (low, high) == pytest.approx(expected)
    assert math.isnan(stats.t_interval([1.0])[1])


def judged(rows, tests=None, alpha=0.05):
    """`rows` decided as one family of `tests` (default: the rows themselves)."""
    return verdicts.adjust(rows, tests or len(rows), alpha)


def test_tost_needs_the_interval_inside_the_margin():
    tight = [0.01, -0.02, 0.015, 0.0, -0.005]
    assert stats.tests(tight, margin=0.5)[2] < 0.001
    assert stats.tests(tight, margin=0.01)[2] > 0.05
    assert stats.tests([3.0, 3.1, 2.9, 3.05, 2.95], margin=0.5)[2] > 0.5   # far outside: not equivalent


def test_verdicts_are_decided_by_the_family_interval_and_the_smallest_effect():
    runs = runs_table({2: 5.0, 5: 0.3, 10: 0.0, 20: -5.0, 50: 0.05})
    gaps = stats.paired_gap(runs, ["d_z"], "test_recon", margin=1.0)
    undecided = verdicts.verdict_rows("nb", "mnist", "AE better", gaps, ["d_z"], +1, claim_id="c")
    assert (undecided["holds"] == "").all()                        # decided once, in the family
    rows = judged(undecided)
    assert rows["holds"].tolist() == ["yes", "equivalent", "equivalent", "no", "equivalent"]
    assert (rows["family_level"] == 0.99).all() and (rows["min_effect"] == 1.0).all()
    wider = (rows["family_high"] - rows["family_low"]) > (rows["ci_high"] - rows["ci_low"])
    assert wider.all()                                             # 99% is wider than 95%
    wide = stats.paired_gap(runs, ["d_z"], "test_recon", margin=10.0)
    big = judged(verdicts.verdict_rows("nb", "mnist", "AE better", wide, ["d_z"], +1, claim_id="c"))
    assert big["holds"].tolist()[0] == "equivalent"                # 5 nats is within a ±10 margin
    limited = judged(verdicts.verdict_rows("nb", "mnist", "AE better", gaps, ["d_z"], +1, limited={"d_z=2"},
                                           claim_id="c"))
    assert limited["holds"].tolist()[0] == "optimisation-limited" and np.isnan(limited["family_low"].iloc[0])


def test_a_row_is_yes_only_when_its_family_interval_clears_the_margin():
    values = [1.9, 2.3, 2.1, 2.6, 1.6]                              # 95% interval about [1.6, 2.6]
    gaps = pd.DataFrame([stats._effect_row(values, 1.5, d_z=2, metric="m")])
    row = verdicts.verdict_rows("nb", "mnist", "AE better", gaps, ["d_z"], +1, claim_id="c")
    assert row["ci_low"].item() > 1.5                               # clears the margin at 95% ...
    assert judged(row, tests=1)["holds"].item() == "yes"
    in_family = judged(row, tests=20)                               # ... not at 1 − 0.05 / 20
    assert in_family["family_low"].item() < 1.5 and in_family["holds"].item() == verdicts.BELOW_MARGIN


def test_an_interval_across_zero_is_inconclusive_never_no_difference():
    noisy = pd.DataFrame([{"model": m, "d_z": 2, "repeat": r, "test_recon": v}
                          for r, (a, b) in enumerate([(80, 83), (80, 77), (80, 82), (80, 78.5), (80, 80.2)])
                          for m, v in (("ae", a), ("vae", b))])
    gaps = stats.paired_gap(noisy, ["d_z"], "test_recon", margin=1.0)
    assert gaps["ci_low"].item() < 0 < gaps["ci_high"].item()
    rows = judged(verdicts.verdict_rows("nb", "mnist", "AE better", gaps, ["d_z"], +1, claim_id="c"))
    assert rows["holds"].item() == "inconclusive"


def test_a_claim_of_sameness_holds_only_through_the_equivalence_test():
    runs = runs_table({2: 5.0, 5: 0.3, 10: 0.0, 20: -5.0})
    gaps = stats.paired_gap(runs, ["d_z"], "test_recon", margin=1.0)
    rows = judged(verdicts.verdict_rows("nb", "mnist", "β → 0 behaves like an AE", gaps, ["d_z"], +1,
                                        equivalence=True, claim_id="c"))
    assert rows["holds"].tolist() == ["no", "yes", "yes", "no"]     # a large gap either way refutes it
    noisy = pd.DataFrame([{"model": m, "d_z": 2, "repeat": r, "test_recon": v}
                          for r, (a, b) in enumerate([(80, 83), (80, 77), (80, 82), (80, 78.5), (80, 80.2)])
                          for m, v in (("ae", a), ("vae", b))])
    wide = stats.paired_gap(noisy, ["d_z"], "test_recon", margin=1.0)
    same = judged(verdicts.verdict_rows("nb", "mnist", "same", wide, ["d_z"], +1, equivalence=True, claim_id="c"))
    assert same["holds"].item() == "inconclusive"


def jitter(runs, seed=0):
    """`runs` with a little independent noise on every VAE value (slopes then differ by repeat)."""
    noise = np.random.default_rng(seed).normal(0, 0.05, len(runs)) * (runs["model"] == "vae")
    return runs.assign(test_recon=runs["test_recon"] + noise)


def test_gap_slope_uses_every_value_paired_by_repeat():
    runs = jitter(runs_table({2: 0.0, 4: 1.0, 8: 2.0, 16: 3.0}))   # +1 nat per doubling
    slope = stats.gap_slope(runs, "d_z", "test_recon", margin=0.5).iloc[0]
    assert slope["gap"] == pytest.approx(1.0, abs=0.05) and slope["ci_low"] > 0 and slope["n"] == 5
    assert slope["comparison"] == "slope per doubling of d_z (2, 4, 8, 16)"
    endpoints_only = jitter(runs_table({2: 0.0, 4: 3.0, 8: 3.0, 16: 3.0}))   # a jump, then flat
    assert stats.gap_slope(endpoints_only, "d_z", "test_recon", 0.5).iloc[0]["gap"] < 1.0


def test_each_run_writes_its_verdicts_and_the_report_takes_exactly_the_profiles_runs(tmp_path, monkeypatch,
                                                                                    load_script):
    from vae_utils.config import paths
    report = load_script("report")
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(report, "PROJECT_ROOT", tmp_path)
    (tmp_path / "params" / "default").mkdir(parents=True)
    for run in ("02_x--mnist", "02_x--fashion_mnist"):
        (tmp_path / "params" / "default" / f"{run}.yaml").write_text("")
    gaps = stats.paired_gap(runs_table({2: 5.0}), ["d_z"], "test_recon", margin=1.0)
    for run, dataset in (("02_x--mnist", "mnist"), ("02_x--fashion_mnist", "fashion_mnist"),
                         ("02_x--mnist", "mnist"), ("02_x--deleted", "frey_face")):   # a rerun; a gone run
        verdicts.save(judged(verdicts.verdict_rows("02_x", dataset, "AE better", gaps, ["d_z"], +1, claim_id="c")), run,
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
    assert "| mnist | AE better | 1 |" in readme                    # the tally counts the row once


def test_rows_another_notebook_already_tested_are_counted_once(load_script):
    """Shared rows are matched on the key columns (values), not on the claim or condition text."""
    report = load_script("report")
    rows = pd.DataFrame([{"notebook": nb, "dataset": "mnist", "claim": claim, "condition": "words", "metric": "m",
                          "claim_id": "c", "d_z": d_z, "n_layers": depth, "holds": "yes"}
                         for nb, claim, d_z, depth in (("02", "c", 2, 2), ("02", "c", 2, 1),
                                                       ("03", "c, as 3 says", 2, 2), ("03", "c", 5, 2))])
    rows = rows.reindex(columns=[*rows.columns, *[k for k in verdicts.KEYS if k not in rows]])
    marked = report.mark_shared(rows)
    assert marked["counted"].tolist() == [True, True, False, True]
    assert report.tally(marked)["yes"].tolist() == [3]            # the shared row is not tallied
    rows.loc[2, "train_images"] = 60000                          # other models (another size): counted
    assert report.mark_shared(rows)["counted"].tolist() == [True] * 4


def test_pick_finds_exactly_one_result():
    from vae_utils.engine.training import TrainConfig
    configs = experiments.grid(dict(dataset="mnist", n_layers=2, max_epochs=1), model=["ae", "vae"], d_z=[2, 5])
    results = {c: f"{c.model}-{c.d_z}" for c in configs}
    assert experiments.pick(results, model="vae", d_z=5) == "vae-5"
    with pytest.raises(ValueError, match="2 trained models match"):
        experiments.pick(results, d_z=2)
    assert isinstance(configs[0], TrainConfig)


def test_verdict_rows_are_described_one_line_per_claim():
    rows = pd.DataFrame({"dataset": "mnist", "claim": ["c1", "c1", "c2"], "metric": "frechet",
                         "condition": ["d_z=2", "d_z=10", "d_z=2"], "value": [1.5, -2.0, 0.25],
                         "ci_low": [0.5, -3.0, -0.5], "ci_high": [2.5, -1.0, 1.0],
                         "holds": ["yes", "no", "inconclusive"]})
    assert verdicts.describe(rows).splitlines() == [
        "mnist, 'c1' (frechet): d_z=2: +1.5 [+0.5, +2.5] → yes; d_z=10: -2 [-3, -1] → no.",
        "mnist, 'c2' (frechet): d_z=2: +0.25 [-0.5, +1] → inconclusive."]
    assert verdicts.describe(rows.iloc[:0]) == ""


@pytest.mark.parametrize("gaps, carried", [({2: 0.0, 5: 0.05, 10: 0.1, 50: 10.0}, "50"),
                                           ({2: 0.0, 5: 1.3, 10: 2.3, 50: 4.6}, "")])
def test_a_trend_carried_by_one_level_says_so(gaps, carried):
    """A slope that only the last level makes is labelled as carried by it; a steady one is not."""
    from vae_utils.study import judge
    runs = jitter(runs_table(gaps))   # without it every repeat has the same slope: no variance to test
    margin = 1.0 / math.log2(50 / 2)
    row = judged(verdicts.verdict_rows("nb", "mnist", "gap grows", stats.gap_slope(runs, "d_z", "test_recon", margin),
                                       ["comparison"], +1, claim_id="c"))
    assert row["holds"].item() == "yes"
    wide = stats.repeat_gaps(runs, ["d_z"], "test_recon").unstack("d_z")
    found = judge.leave_one_out(row, wide, 1.0, 0.05)
    assert found["carried_by"].item() == carried
    assert found["loo_low"].item() <= row["value"].item() <= found["loo_high"].item()
    assert found["stronger_without"].item() == ""
    assert judge.leave_one_out(row, wide[[2, 50]], 1.0, 0.05)["carried_by"].isna().all()   # two levels: no refit


def test_a_level_whose_omission_strengthens_a_trend_does_not_carry_it():
    """MNIST's NMI trend over β ∈ {1, 1.5, 4, 10} in the tables committed before the regeneration
    (tests/fixtures/beta_mnist_2026_12_06, from b6a0a2f): without β = 1.5 the slope is beyond
    −margin (a stronger outcome), so β = 1.5 does not carry it; without β = 1 it flips."""
    from pathlib import Path

    from vae_utils.config import runspec
    from vae_utils.study import judge
    fixture = Path(__file__).parent / "fixtures" / "beta_mnist_2026_12_06"
    rows = judge.rejudge(runspec.resolve("default", "04_beta_vae--mnist"), fixture)
    trend = rows[rows["claim_id"] == "clusters_trend"].iloc[0]
    assert trend["carried_by"].split() == ["1"] and trend["stronger_without"].split() == ["1.5"]


def headline_like(mean, spread):
    """AE and VAE rows over 5 repeats whose paired VAE − AE gaps are `mean` ± `spread`."""
    offsets = np.array([-1.0, -0.5, 0.0, 0.5, 1.0]) * spread
    return pd.DataFrame([{"model": m, "d_z": 10, "repeat": r, "test_recon": 80 + (mean + o if m == "vae" else 0)}
                         for r, o in enumerate(offsets) for m in ("ae", "vae")])


def test_yes_needs_the_interval_to_clear_the_margin_not_just_the_estimate():
    # like Fashion-MNIST's d_z = 10 headline: +1.39 [0.84, 1.95] against a margin of 1 nat
    gaps = stats.paired_gap(headline_like(1.39, 0.7), ["d_z"], "test_recon", margin=1.0)
    assert gaps["ci_low"].item() < 1.0 < gaps["gap"].item() and gaps["ci_low"].item() > 0
    rows = judged(verdicts.verdict_rows("nb", "fashion_mnist", "AE better", gaps, ["d_z"], +1, claim_id="c"))
    assert rows["holds"].item() == verdicts.BELOW_MARGIN            # non-zero, not shown beyond 1 nat
    clear = judged(verdicts.verdict_rows("nb", "fashion_mnist", "AE better",
                                         stats.paired_gap(headline_like(3.0, 0.7), ["d_z"], "test_recon", 1.0),
                                         ["d_z"], +1, claim_id="c"))
    assert clear["holds"].item() == "yes" and clear["ci_low"].item() > 1.0
    below = judged(verdicts.verdict_rows("nb", "mnist", "AE better",
                                         stats.paired_gap(headline_like(-1.12, 0.7), ["d_z"], "test_recon", 1.0),
                                         ["d_z"], +1, claim_id="c"))
    assert below["holds"].item() == verdicts.BELOW_MARGIN            # and so for 'no'


def test_the_margin_test_is_the_two_sided_intervals_partner():
    rng = np.random.default_rng(3)
    for _ in range(200):                                             # p_margin < α exactly when the 95% CI clears it
        values = rng.normal(rng.uniform(-3, 3), rng.uniform(0.2, 2), 5)
        _, low, high = stats.t_interval(values)
        p_margin = stats.tests(values, 1.0)[1]
        assert (p_margin < 0.05) == (low > 1.0 or high < -1.0)


def test_a_notebook_prints_a_row_as_the_verdict_file_stores_it(tmp_path):
    """5.914998 is stored as 5.915: printed from memory at 3 digits it read +5.91, from the file +5.92,
    and check_printed failed on a correct run."""
    row = {"dataset": "mnist", "claim": "c", "metric": "frechet", "condition": "d_z=3", "value": 2.9172,
           "ci_low": -0.0805979, "ci_high": 5.914998, "holds": "saturated"}
    memory = pd.DataFrame([row])
    path = tmp_path / "rows.csv"
    memory.to_csv(path, index=False, float_format=verdicts.STORED)
    assert verdicts.describe(memory) == verdicts.describe(pd.read_csv(path))
    assert "+5.92]" in verdicts.describe(memory)
