"""The dry run of a profile (`make all PROFILE=paper DRY=1`): the profile's own files on tiny
budgets; and the checks that make a bad parameter file fail before anything runs."""
import subprocess
from pathlib import Path

import pytest
from filelock import FileLock

from vae_utils.config import paths, protocol
from vae_utils.core import data, fetch
from vae_utils.engine import cache
from vae_utils.engine.training import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
BINARISED = "03_ae_vs_vae_latent_dim--binarized_mnist"


def test_the_dry_run_checks_every_paper_file_and_fails_on_a_misspelt_field(repo, run_notebook):
    ok = run_notebook(repo, "paper-dry", "--check")
    runs = len(list((repo / "params" / "paper").glob("[0-9]*.yaml")))
    assert ok.returncode == 0 and f"{runs} run(s) of profile paper-dry" in ok.stdout, ok.stderr
    path = repo / "params" / "paper" / f"{BINARISED}.yaml"
    good = path.read_text()
    path.write_text(good.replace("iw_samples:", "iw_sampels:"))
    for args in (("paper-dry", "--check"), ("paper-dry", BINARISED)):     # checked, and the run itself
        bad = run_notebook(repo, *args)
        assert bad.returncode != 0
        assert f"params/paper/{BINARISED}.yaml: unknown parameter(s) ['iw_sampels']" in bad.stderr
    assert not (repo / "results").exists()             # it failed before anything ran
    path.write_text(good.replace("n_layers: 2", 'n_layers: "two"'))
    bad = run_notebook(repo, "paper-dry", "--check")
    assert f"params/paper/{BINARISED}.yaml: n_layers: 'two' is not allowed; it must be an integer >= 1" in bad.stderr
    path.write_text(good + "d_z_list: [2\n")
    bad = run_notebook(repo, "paper-dry", "--check")
    assert f"{BINARISED}.yaml (the parameters of run {BINARISED}) is not valid YAML" in bad.stderr
    path.write_text(good)
    proto = repo / "params" / "paper" / "protocol.yaml"
    proto.write_text(proto.read_text().replace("max_epochs: 200", "max_epoch: 200"))
    bad = run_notebook(repo, "paper-dry", "--check")
    assert bad.returncode != 0
    assert "params/paper/protocol.yaml [all]: max_epoch: 200 is not allowed; no such protocol field" in bad.stderr


def test_the_dry_profile_is_the_paper_grid_on_tiny_budgets():
    paper, dry = protocol.load("paper", "mnist"), protocol.load("paper-dry", "mnist")
    assert (dry["repeats"], dry["n_train"], dry["batch_size"]) == (paper["repeats"], None, 100)
    assert (dry["max_epochs"], dry["patience"]) == (1, 1) and paper["max_epochs"] == 200
    assert protocol.load("paper-dry", "mnist", {"batch_size": 64})["batch_size"] == 64   # the run's overrides stay
    assert paths.published_dir("paper-dry", create=False) == ROOT / "results" / "profiles" / "paper-dry"
    with pytest.raises(ValueError, match="profile='paper-wet' is not known"):
        paths.check_profile("paper-wet")
    out = subprocess.run(["make", "-n", "-B", "all", "PROFILE=paper", "DRY=1"], cwd=ROOT, capture_output=True,
                         text=True).stdout                   # -B: whether or not the dry run is up to date
    runs = sorted(p.stem for p in (ROOT / "params" / "paper").glob("[0-9]*.yaml"))
    assert "run_notebook.py paper-dry --check" in out
    assert all(f"run_notebook.py paper-dry {run}" in out for run in runs)


def test_a_data_limit_cuts_the_data_and_changes_every_cache_key(monkeypatch):
    config = TrainConfig(dataset="mnist", model="vae", n_layers=2, d_z=2)
    whole = cache.cache_key(config)
    monkeypatch.setenv("VAE_DATA_LIMIT", "1000,100")
    assert paths.data_limit() == {"train": 1000, "test": 100}
    assert cache.cache_key(config) != whole
    monkeypatch.setenv("VAE_DATA_LIMIT", "ten")
    with pytest.raises(ValueError, match="VAE_DATA_LIMIT='ten' is not allowed"):
        paths.data_limit()


@pytest.mark.skipif(not (data.data_dir() / "MNIST" / "raw").exists(), reason="MNIST not available (set VAE_DATA_DIR)")
def test_a_data_limit_keeps_the_first_images(monkeypatch):
    whole = data.load_dataset("mnist")
    monkeypatch.setenv("VAE_DATA_LIMIT", "50,20")
    cut = data.load_dataset("mnist")
    assert cut.train_x.shape == (50, 784) and cut.test_x.shape == (20, 784) and len(cut.train_y) == 50
    assert (cut.train_x == whole.train_x[:50]).all() and (cut.test_y == whole.test_y[:20]).all()
    assert data.load_dataset("binarized_mnist").train_x.shape == (50, 784)


def test_the_data_folder_named_by_vae_data_dir_is_never_written(tmp_path, monkeypatch):
    given = tmp_path / "given"
    given.mkdir()
    monkeypatch.setenv("VAE_DATA_DIR", str(given))
    monkeypatch.setattr(data, "PROJECT_ROOT", tmp_path / "project")
    targets = []

    def no_network(file, target):
        targets.append(target)
        raise fetch.DataError("no network")
    monkeypatch.setattr(fetch, "download", no_network)
    data.load_dataset.cache_clear()
    with pytest.raises(data.DataError, match="no network"):
        data.load_dataset("mnist")
    data.load_dataset.cache_clear()
    assert list(given.iterdir()) == [] and targets and all(given not in t.parents for t in targets)


def test_staging_folders_of_dead_runs_are_removed_and_live_ones_kept(tmp_path, monkeypatch, load_script):
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path)
    run_notebook = load_script("run_notebook")
    dead, live = tmp_path / "build" / "run-a-1", tmp_path / "build" / "run-b-2"
    for folder in (dead, live):
        (folder / "outputs" / "tables").mkdir(parents=True)
        (folder / ".lock").touch()
    with FileLock(live / ".lock"):                      # held in this process: flock is per open file
        run_notebook.remove_stale_staging()
    assert not dead.exists() and live.exists()
