"""Project paths, computed from the package location (never from the working directory).

The one source of output folders: `python3 vae_utils/paths.py PROFILE [KIND]` prints a
profile's results folder (or one kind of output in it), relative to the repository; the
Makefile asks it.
"""
import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("default", "quick", "paper")   # the study for a 2-core CPU; a smoke test; the original protocol


def check_profile(profile):
    if profile not in PROFILES:
        raise ValueError(f"profile={profile!r} is not known; allowed: {', '.join(PROFILES)}")


def data_dir():
    """Folder holding the datasets: $VAE_DATA_DIR, else `data/` in the repository."""
    return Path(os.environ.get("VAE_DATA_DIR") or PROJECT_ROOT / "data").expanduser()


def results_dir(profile="default", create=True):
    """Where a profile's figures, tables and executed notebooks go: `results/` for the
    default profile, `results/profiles/<profile>/` for the others."""
    check_profile(profile)
    root = PROJECT_ROOT / "results"
    path = root if profile == "default" else root / "profiles" / profile
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


OUTPUTS = ("notebooks", "metadata", "verdicts", "figures", "tables")


def output_dir(profile, kind, create=True):
    """One kind of a profile's outputs (see OUTPUTS), e.g. results/figures/."""
    if kind not in OUTPUTS:
        raise ValueError(f"kind={kind!r} is not known; allowed: {', '.join(OUTPUTS)}")
    path = results_dir(profile, create) / kind
    if create:
        path.mkdir(exist_ok=True)
    return path


def run_name(default):
    """The name of this notebook run: $VAE_RUN (set by scripts/run_notebook.py), else `default`."""
    return os.environ.get("VAE_RUN") or default


def cache_dir():
    """Trained-model cache: $VAE_CACHE_DIR, else `.cache/models` in the repository."""
    path = Path(os.environ.get("VAE_CACHE_DIR") or PROJECT_ROOT / ".cache" / "models")
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":      # python3 vae_utils/paths.py PROFILE [KIND]: a folder, for the Makefile
    try:
        profile, *kind = sys.argv[1:] or ["default"]
        path = output_dir(profile, kind[0], create=False) if kind else results_dir(profile, create=False)
        print(path.relative_to(PROJECT_ROOT))
    except ValueError as err:
        sys.exit(str(err))
