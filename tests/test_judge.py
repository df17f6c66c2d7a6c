"""The judge stage on the committed results: every run's verdict rows follow from its committed
tables alone (nothing trained or loaded), by the functions its notebook calls; and a changed table
changes the verdict, so the comparison can fail."""
import shutil

import pandas as pd
import pytest

from vae_utils.config import paths, runspec
from vae_utils.inference import verdicts
from vae_utils.study import judge

RESULTS = paths.published_dir("default", create=False)
JUDGED = [run for run in runspec.runs_of("default") if not run.startswith("01_")]


def committed(run):
    return verdicts.read(RESULTS / "verdicts" / f"{run}.csv")


@pytest.mark.parametrize("run", JUDGED)
def test_every_committed_run_is_judged_again_to_its_committed_verdicts(run):
    spec = runspec.resolve("default", run)
    assert judge.equal_rows(judge.rejudge(spec, RESULTS / "tables"), committed(run)) == []


def test_every_judged_notebook_has_committed_runs():
    assert {run.split("--")[0] for run in JUDGED} == {"02_ae_vs_vae_depth", "03_ae_vs_vae_latent_dim",
                                                       "04_beta_vae", "05_generation", "06_data_size"}


def copy_tables(tmp_path, prefix):
    for path in (RESULTS / "tables").glob(f"{prefix}-*.csv"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_a_model_that_did_not_converge_makes_its_row_not_counted(tmp_path):
    run = "03_ae_vs_vae_latent_dim--mnist"
    folder = copy_tables(tmp_path, "latent-mnist")
    table = pd.read_csv(folder / "latent-mnist-convergence.csv")
    table.loc[(table["d_z"] == 50) & (table["model"] == "ae") & (table["repeat"] == 0), "converged"] = False
    table.to_csv(folder / "latent-mnist-convergence.csv", index=False)
    found = judge.rejudge(runspec.resolve("default", run), folder)
    problems = judge.equal_rows(found, committed(run))
    assert any("d_z=50, n_layers=2) holds: 'optimisation-limited' against 'yes'" in p for p in problems), problems
    assert found.set_index("condition").loc["d_z=10, n_layers=2", "holds"] == committed(run).set_index(
        "condition").loc["d_z=10, n_layers=2", "holds"]                  # the other rows keep their verdicts


def test_a_changed_measurement_changes_the_value_and_a_missing_table_is_named(tmp_path):
    run = "02_ae_vs_vae_depth--frey_face"
    folder = copy_tables(tmp_path, "depth-frey_face")
    runs = pd.read_csv(folder / "depth-frey_face-runs.csv")
    runs.loc[(runs["model"] == "vae") & (runs["repeat"] == 0), "test_recon"] += 30.0
    runs.to_csv(folder / "depth-frey_face-runs.csv", index=False)
    problems = judge.equal_rows(judge.rejudge(runspec.resolve("default", run), folder), committed(run))
    assert any(" value: " in p for p in problems), problems
    (folder / "depth-frey_face-baselines.csv").unlink()          # Frey Face without its baselines: rows counted
    found = judge.rejudge(runspec.resolve("default", run), folder)
    assert "below-baseline" not in set(found["holds"]) and "below-baseline" in set(committed(run)["holds"])
    (folder / "depth-frey_face-convergence.csv").unlink()
    with pytest.raises(FileNotFoundError, match="depth-frey_face-convergence.csv is missing"):
        judge.rejudge(runspec.resolve("default", run), folder)


def test_rows_are_compared_in_number_and_text():
    rows = committed("04_beta_vae--mnist")
    assert judge.equal_rows(rows.iloc[:-1], rows) == [f"{len(rows) - 1} rows against {len(rows)}"]
    other = rows.copy()
    other.loc[0, "condition"] = "beta=0, versus=ae, d_z=2"
    assert len(judge.equal_rows(other, rows)) == 1


def test_a_run_spec_gives_the_run_files_values_then_the_notebooks_defaults():
    spec = runspec.resolve("default", "04_beta_vae--frey_face")
    assert spec.dataset == "frey_face" and spec.notebook_name == "04_beta_vae"
    assert spec.value("claims") == spec.parameters["claims"]
    assert spec.value("n_show") == spec.defaults["n_show"] and "n_show" not in spec.parameters
    assert spec.protocol["repeats"] >= 2
    with pytest.raises(KeyError, match="declares no parameter 'betaz'"):
        spec.value("betaz")
    with pytest.raises(ValueError, match="names no notebook"):
        runspec.resolve("default", "09_missing--mnist")
