"""Trained AEs and VAEs in the model store (`vae_utils.engine.store`), keyed by their full config.

An entry's run.json holds the config, history, test metrics, wall time and versions.
"""
from ..config.paths import data_limit
from ..core.data import data_version
from . import store
from .reproducibility import package_versions, pick_device
from .training import FitResult, model_for

CACHE_VERSION = 2          # 2: early stopping, repeats, same-mode histories


def cache_key(config):
    """sha256 of the full training config plus the cache version (and the dataset's data
    version where it is above 1, so models of other datasets keep their keys)."""
    version, limit = data_version(config.dataset), data_limit()
    return store.key_of({"config": config.to_dict(), "cache_version": CACHE_VERSION,
                         **({"data_version": version} if version > 1 else {}),
                         **({"data_limit": limit} if limit else {})})


def entry_dir(config, root=None):
    return store.entry_dir(cache_key(config), root)


def save(result, root=None):
    """Write `result` atomically under its key; return the entry folder."""
    final = entry_dir(result.config, root)
    final.parent.mkdir(parents=True, exist_ok=True)
    info = {"key": final.name, "cache_version": CACHE_VERSION, "config": result.config.to_dict(),
            "history": result.history, "test": result.test, "train_seconds": result.train_seconds,
            "stack_size": result.stack_size, "stopping": result.stopping, "device": str(pick_device()),
            "versions": package_versions()}
    return store.write_entry(final, result.model.state_dict(), info, "config")


def load(config, root=None):
    """The cached FitResult for `config`, or None when there is no complete, readable entry."""
    model = model_for(config)
    info = store.load_entry(entry_dir(config, root), "config", config.to_dict(), model)
    if info is None:
        return None
    return FitResult(model.eval(), config, info["history"], info["train_seconds"], info["test"],
                     info.get("stack_size", 1), info.get("stopping", {}))
