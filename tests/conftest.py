import gzip
import importlib.util
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")     # figures are saved, never shown on a screen


def write_idx(path, array):
    """Write `array` (uint8) as a gzip-compressed IDX file, the format MNIST ships in."""
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x0800 | array.ndim
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.tobytes())


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A fake MNIST (12 train, 6 test images) in torchvision's layout, with md5s registered."""
    from torchvision.datasets import MNIST
    from torchvision.datasets.utils import calculate_md5

    from vae_utils.core import data

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (12, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(12) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": np.arange(6) % 10,
    }
    for name, array in arrays.items():
        write_idx(raw / name, array)
    resources = [(name, calculate_md5(str(raw / name))) for name in arrays]
    monkeypatch.setattr(MNIST, "resources", resources)
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data, "PROJECT_ROOT", tmp_path / "project")
    data.load_dataset.cache_clear()
    yield tmp_path, arrays
    data.load_dataset.cache_clear()


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def load_script():
    """A loader for scripts/<name>.py as a module (the scripts are not a package)."""
    def load(name):
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A throw-away project: notebooks/, params/quick/ (with a protocol) and results/."""
    from vae_utils.config import paths
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "params" / "quick").mkdir(parents=True)
    (tmp_path / "params" / "quick" / "protocol.yaml").write_text(
        "all:\n  repeats: 2\n  n_train: 600\n  max_epochs: 3\n  patience: 2\n  min_delta: 0.001\n  anneal: null\n"
        "  batch_size: 100\n  lr: 0.001\n  seed: 0\n  min_effect: 1.0\n  alpha: 0.05\n  continuation_streams: 1\n"
        "  continuation_epochs: 10\n  continuation_selection: false\n  continuation_max_gain: 0.25\n"
        "frey_face:\n  n_train: null\n  max_epochs: 9\n")
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path)
    return tmp_path


@pytest.fixture
def repo(tmp_path):
    """A copy of the repository's code, notebooks and parameter files."""
    copy = tmp_path / "repo"
    for name in ("vae_utils", "scripts", "notebooks", "params"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.fixture
def run_notebook():
    """scripts/run_notebook.py of a copied repository (`repo`), run in a process of its own."""
    def run(repo, *args):
        return subprocess.run([sys.executable, str(repo / "scripts" / "run_notebook.py"), *args], capture_output=True,
                              text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo)}, timeout=120)
    return run
