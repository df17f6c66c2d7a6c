"""After `make all PROFILE=paper DRY=1`: check that the dry run took every path only the paper
profile has (`make dry-run` runs this; exit 1 naming what is missing).

    python scripts/check_dry_run.py [PROFILE]      # default: paper
"""
import json
import sys

from vae_utils.config import notebooks, paths, runspec

PATHS = {   # what the paper profile alone trains, as a test on one cached model's config
    "binarised MNIST": lambda c: c["dataset"] == "binarized_mnist",
    "n_layers = 5": lambda c: c.get("n_layers") == 5,
    "n_layers = 7": lambda c: c.get("n_layers") == 7,
    "d_z = 20": lambda c: c.get("d_z") == 20,
    "10 repeats on the whole training set (no disjoint blocks)":
        lambda c: c.get("repeat") == 9 and c["n_train"] is None,
    "disjoint blocks beside the whole set (notebook 6)":
        lambda c: c.get("model") in ("ae", "vae") and c["n_train"] is not None,
    "the classifier on the whole training set": lambda c: c.get("epochs") is not None and c["n_train"] is None,
}


def main(profile="paper"):
    dry = f"{profile}{paths.DRY}"
    folder = paths.published_dir(dry, create=False)
    configs = [json.loads(p.read_text())["config"] for p in (folder / "models").glob("*/run.json")]
    missing = [name for name, taken in PATHS.items() if not any(taken(c) for c in configs)]
    runs = sorted(p.stem for p in (paths.PROJECT_ROOT / "params" / profile).glob("[0-9]*.yaml"))
    unexecuted = [run for run in runs if not (folder / "notebooks" / f"{run}.ipynb").exists()]
    k = []
    if profile == "paper":
        run = folder / "notebooks" / f"{runspec.run_of(notebooks.by_tag('latent').name, 'binarized_mnist')}.ipynb"
        if not run.exists() or "iw_samples = 5000" not in run.read_text():
            k = ["the importance-weighted bound at k = 5,000 (notebook 3, binarised MNIST)"]
    if missing or unexecuted or k:
        sys.exit(f"check_dry_run: the {dry} run did not take: {missing + k}; runs not executed: {unexecuted}")
    print(f"check_dry_run: {len(runs)} runs executed, {len(configs)} models cached in {folder / 'models'}; "
          f"paths taken: {', '.join(list(PATHS) + ['k = 5,000'] * (profile == 'paper'))}")


if __name__ == "__main__":
    main(*sys.argv[1:])
