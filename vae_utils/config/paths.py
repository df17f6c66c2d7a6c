"""Project paths, computed from the package location (never from the working directory).

The one source of output folders: `python3 vae_utils/config/paths.py PROFILE [KIND]` prints a
profile's results folder (or one kind of output in it), relative to the repository; the
Makefile asks it.
"""
import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROFILES = ("default", "quick", "paper")   # the study for a 2-core CPU; a smoke test; the original protocol
DRY = "-dry"   # <profile>-dry: the profile's own runs and grid on tiny budgets (params/dry.yaml), e.g. paper-dry
INTERACTIVE = "interactive"    # the notebooks' own default: a run from JupyterLab reads the default
                                # profile's protocol and writes to results/profiles/interactive/ (ignored
                                # by git), never over the committed results; make never runs it
STAGE_ENV = "VAE_STAGE_DIR"     # set by scripts/run_notebook.py: the run's outputs are staged there


def check_profile(profile):
    if params_profile(profile) not in PROFILES:
        raise ValueError(f"profile={profile!r} is not known; allowed: {', '.join(PROFILES)}, "
                         f"one of them with {DRY!r} (its dry run), or {INTERACTIVE!r}")


def params_profile(profile):
    """The profile whose parameter files a profile runs: itself, the base of a dry run, or the
    default profile for an interactive run."""
    if profile == INTERACTIVE:
        return "default"
    return profile[:-len(DRY)] if isinstance(profile, str) and profile.endswith(DRY) else profile


def is_dry(profile):
    return isinstance(profile, str) and profile.endswith(DRY) and params_profile(profile) in PROFILES


def data_dir():
    """Folder holding the datasets: $VAE_DATA_DIR, else `data/` in the repository."""
    return Path(os.environ.get("VAE_DATA_DIR") or PROJECT_ROOT / "data").expanduser()


def published_dir(profile="default", create=True):
    """Where a profile's figures, tables and executed notebooks end up: `results/` for the
    default profile, `results/profiles/<profile>/` for the others."""
    check_profile(profile)
    root = PROJECT_ROOT / "results"
    path = root if profile == "default" else root / "profiles" / profile
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir(profile="default", create=True):
    """Where this process writes a profile's outputs: the run's staging folder while
    scripts/run_notebook.py runs it ($VAE_STAGE_DIR, moved into place only on success),
    else `published_dir(profile)`."""
    staged = os.environ.get(STAGE_ENV)
    if not staged:
        return published_dir(profile, create)
    check_profile(profile)
    path = Path(staged)
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


def events_file():
    """The run's event log (cache entries refused and retrained), beside its staging folder while
    scripts/run_notebook.py runs it; None otherwise."""
    staged = os.environ.get(STAGE_ENV)
    return Path(staged).parent / "events.log" if staged else None


def data_limit():
    """{"train": n, "test": m} from $VAE_DATA_LIMIT ("n,m"; set for dry runs), else None:
    then every dataset is loaded whole."""
    text = os.environ.get("VAE_DATA_LIMIT")
    if not text:
        return None
    try:
        train, test = (int(v) for v in text.split(","))
        assert train >= 20 and test >= 20
    except (ValueError, AssertionError):
        raise ValueError(f"VAE_DATA_LIMIT={text!r} is not allowed; it must be 'TRAIN,TEST', "
                         f"two integers >= 20") from None
    return {"train": train, "test": test}


def cache_dir():
    """Trained-model cache: $VAE_CACHE_DIR, else `.cache/models` in the repository."""
    path = Path(os.environ.get("VAE_CACHE_DIR") or PROJECT_ROOT / ".cache" / "models")
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":      # python3 vae_utils/config/paths.py PROFILE [KIND]: a folder, for the Makefile
    try:
        profile, *kind = sys.argv[1:] or ["default"]
        if profile == INTERACTIVE:
            raise ValueError(f"profile={profile!r} is a notebook's own run from JupyterLab; make runs "
                             f"{', '.join(PROFILES)} (DRY=1: a dry run)")
        if kind and kind[0] not in OUTPUTS:
            raise ValueError(f"kind={kind[0]!r} is not known; allowed: {', '.join(OUTPUTS)}")
        path = published_dir(profile, create=False) / kind[0] if kind else published_dir(profile, create=False)
        print(path.relative_to(PROJECT_ROOT))
    except ValueError as err:
        sys.exit(str(err))
