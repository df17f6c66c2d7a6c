"""Project paths, computed from the package location (never from the working directory)."""
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir():
    """Folder holding the datasets: $VAE_DATA_DIR, else `data/` in the repository."""
    return Path(os.environ.get("VAE_DATA_DIR") or PROJECT_ROOT / "data").expanduser()


def results_dir(profile="default"):
    """Where a profile's figures and tables go; only the default profile writes to `results/`."""
    root = PROJECT_ROOT / "results"
    path = root if profile == "default" else root / "profiles" / profile
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir():
    """Trained-model cache: $VAE_CACHE_DIR, else `.cache/models` in the repository."""
    path = Path(os.environ.get("VAE_CACHE_DIR") or PROJECT_ROOT / ".cache" / "models")
    path.mkdir(parents=True, exist_ok=True)
    return path
