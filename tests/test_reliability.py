"""Reliability of the pipeline: killed runs change nothing, the cache checks what it loads, a full
disk says so, and two runs sharing a cache train a config once."""
import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
import torch

from vae_utils.core import data
from vae_utils.engine import cache, experiments, store, training
from vae_utils.engine.training import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
needs_mnist = pytest.mark.skipif(not (data.data_dir() / "MNIST" / "raw").exists(),
                                 reason="MNIST not available (set VAE_DATA_DIR)")


@pytest.fixture
def tiny_data(monkeypatch):
    """A small deterministic stand-in for MNIST, so that a model trains in a second."""
    g = torch.Generator().manual_seed(0)
    ds = data.ImageData("mnist", torch.rand(300, 784, generator=g), torch.arange(300) % 10,
                        torch.rand(50, 784, generator=g), torch.arange(50) % 10, (28, 28), "bernoulli")
    monkeypatch.setattr(training, "load_dataset", lambda name: ds)


def small(**kw):
    return TrainConfig(**{**dict(dataset="mnist", model="vae", n_layers=2, d_z=2, max_epochs=2, batch_size=50,
                                 n_train=100), **kw})


def entries(root):
    """Entries a later run would trust (folders holding run.json), and leftovers of unfinished writes."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != ".locks")


def test_flipped_bytes_in_a_weight_file_are_refused_and_retrained_with_the_reason(tiny_data, tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path / "cache"))
    config = small()
    first = experiments.run_all([config], device="cpu")[config]
    weights = cache.entry_dir(config) / "model.pt"
    raw = bytearray(weights.read_bytes())
    middle = len(raw) // 2
    raw[middle:middle + 64] = bytes(b ^ 0xFF for b in raw[middle:middle + 64])
    weights.write_bytes(bytes(raw))
    torch.load(weights, weights_only=True)             # the damage is invisible to torch.load itself
    stage = tmp_path / "run" / "outputs"
    monkeypatch.setenv("VAE_STAGE_DIR", str(stage))    # as under scripts/run_notebook.py: an event log
    stage.parent.mkdir()
    with pytest.warns(UserWarning, match=r"retraining cache entry .* sha256"):
        assert cache.load(config) is None
    assert "sha256" in (stage.parent / "events.log").read_text()
    with pytest.warns(UserWarning, match="retraining cache entry"):
        again = experiments.run_all([config], device="cpu")[config]
    assert again.test == first.test                    # retrained from the same seed
    assert cache.load(config) is not None              # and the new entry checks out


def test_a_full_disk_names_the_path_and_leaves_no_entry(tiny_data, tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path))
    config = small()
    result = training.fit(config, device="cpu", progress=False)
    real_open = open

    class FillsUp:                                      # writes half of what it is given, then ENOSPC
        def __init__(self, *args):
            self.fh = real_open(*args)

        def write(self, payload):
            self.fh.write(payload[:len(payload) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr(store, "open", FillsUp, raising=False)
    with pytest.raises(store.CacheWriteError, match=rf"{tmp_path}/.*: no space left .*needs [0-9,]+ bytes; "
                                                    rf"[0-9,]+ bytes free"):
        cache.save(result)
    assert entries(tmp_path) == []
    assert cache.load(config) is None


@pytest.fixture
def small_filesystem(tmp_path):
    """A real 64 KiB filesystem (tmpfs; needs root and mount)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_really_full_filesystem_gives_a_clear_error(tiny_data, small_filesystem):
    result = training.fit(small(n_layers=2, d_z=10), device="cpu", progress=False)   # about 2.5 MB of weights
    with pytest.raises(store.CacheWriteError, match=rf"{small_filesystem}/.*no space left"):
        cache.save(result, root=small_filesystem)
    assert entries(small_filesystem) == []
    assert cache.load(result.config, root=small_filesystem) is None


TWO_RUNS = textwrap.dedent("""
    import sys, time, pathlib, torch
    from vae_utils.core import data
    from vae_utils.engine import experiments, training
    g = torch.Generator().manual_seed(0)
    ds = data.ImageData("mnist", torch.rand(600, 784, generator=g), torch.arange(600) % 10,
                        torch.rand(50, 784, generator=g), torch.arange(50) % 10, (28, 28), "bernoulli")
    training.load_dataset = lambda name: ds
    fits = []
    real_fit = experiments.fit
    experiments.fit = lambda *a, **k: fits.append(1) or real_fit(*a, **k)
    folder = pathlib.Path(sys.argv[1])
    (folder / f"ready-{sys.argv[2]}").touch()
    while not (folder / "go").exists():
        time.sleep(0.01)
    config = training.TrainConfig(dataset="mnist", model="vae", n_layers=2, d_z=2, max_epochs=40, patience=40,
                                  batch_size=50, n_train=500)
    result = experiments.run_all([config], device="cpu")[config]
    print(len(fits), result.test["test_loss"])
""")


def test_two_runs_sharing_a_cache_train_a_config_once(tmp_path):
    env = {**os.environ, "VAE_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", TWO_RUNS, str(tmp_path), str(i)], env=env,
                              stdout=subprocess.PIPE, text=True) for i in range(2)]
    deadline = time.time() + 60
    while not all((tmp_path / f"ready-{i}").exists() for i in range(2)):
        assert time.time() < deadline, "the two runs did not start"
        time.sleep(0.05)
    (tmp_path / "go").touch()                           # both look in the cache at the same moment
    outputs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(int(o[0]) for o in outputs) == [0, 1]  # one trained, the other waited and loaded
    assert outputs[0][1] == outputs[1][1]


def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time, pathlib
        from vae_utils.engine import store
        lock = store.try_key_lock("k", pathlib.Path({str(tmp_path)!r}))
        print("held", flush=True)
        time.sleep(600)
    """)], env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    assert store.try_key_lock("k", tmp_path) is None    # held by the other process
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    start = time.time()
    with store.key_lock("k", tmp_path):
        pass
    assert time.time() - start < 5


def snapshot(folder):
    """{relative path: sha256} of every file under `folder`."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@needs_mnist
def test_a_killed_notebook_run_changes_nothing_and_the_rerun_matches(tmp_path):
    """A real notebook run (quick profile, in a copy of the repository) killed with SIGKILL
    while its outputs are being written leaves results/ as it was; the next run removes its
    staging folder and its verdicts equal an uninterrupted run's."""
    copy = tmp_path / "repo"
    for name in ("vae_utils", "scripts", "notebooks", "params"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    run = "02_ae_vs_vae_depth--mnist"
    params = copy / "params" / "quick" / f"{run}.yaml"          # one d_z: half the models, the same code
    params.write_text(params.read_text().replace("d_z_list: [2, 3]", "d_z_list: [2]"))
    env = {**os.environ, "PYTHONPATH": str(copy), "TQDM_DISABLE": "1", "VAE_DATA_DIR": str(data.data_dir())}
    command = [sys.executable, str(copy / "scripts" / "run_notebook.py"), "quick", run]
    forced = [*command, "--force"]                     # the same inputs: it would be "up to date"
    results = copy / "results"
    verdicts = results / "profiles" / "quick" / "verdicts" / f"{run}.csv"

    subprocess.run(command, env={**env, "VAE_CACHE_DIR": str(tmp_path / "cache-a")}, check=True,
                   capture_output=True)                # uninterrupted, every model trained
    uninterrupted, before = verdicts.read_bytes(), snapshot(results)

    started = time.time()
    killed = subprocess.Popen(forced, env={**env, "VAE_CACHE_DIR": str(tmp_path / "cache-b")},
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = started + 300
    while not [p for p in copy.rglob("*.png") if p.stat().st_mtime > started]:   # mid-way: figures being written
        assert killed.poll() is None and time.time() < deadline, "the run ended before it could be killed"
        time.sleep(0.1)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    time.sleep(1)                                      # let an orphaned kernel notice its parent is gone
    assert snapshot(results) == before
    assert list((copy / "build").glob("run-*"))        # the killed run's staging folder is still there

    done = subprocess.run(forced, env={**env, "VAE_CACHE_DIR": str(tmp_path / "cache-b")}, check=True,
                          capture_output=True, text=True)
    assert list((copy / "build").glob("run-*")) == [], done.stderr
    assert verdicts.read_bytes() == uninterrupted


@needs_mnist
def test_sigterm_stops_the_run_and_its_kernel_and_writes_nothing(tmp_path):
    """SIGTERM unwinds through the cleanup: no kernel left training (it runs in its own session),
    no staging folder, nothing in results/."""
    copy = tmp_path / "repo"
    for name in ("vae_utils", "scripts", "notebooks", "params"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(copy), "TQDM_DISABLE": "1", "VAE_DATA_DIR": str(data.data_dir()),
           "VAE_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.Popen([sys.executable, str(copy / "scripts" / "run_notebook.py"), "quick",
                            "02_ae_vs_vae_depth--mnist"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    kernels = []
    while not kernels:
        assert run.poll() is None and time.time() < deadline, "the run ended before its kernel started"
        kernels = [p for p in psutil.Process(run.pid).children(recursive=True)
                   if "ipykernel" in " ".join(p.cmdline())]
        time.sleep(0.2)
    time.sleep(3)                                      # the kernel is importing and training
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 143
    gone, alive = psutil.wait_procs(kernels, timeout=10)
    assert alive == [], f"kernel(s) still running after SIGTERM: {[p.pid for p in alive]}"
    assert not (copy / "results").exists() or snapshot(copy / "results") == {}
    assert list((copy / "build").glob("run-*")) == []

