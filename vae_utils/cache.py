"""Trained models on disk, keyed by their complete training config.

An entry is a folder `<key>/` holding `model.pt` (state_dict) and `run.json` (config,
history, test metrics, wall time, versions). It is written in a temporary folder and
renamed into place, so a half-written entry never has the final name.
"""
import hashlib
import json
import os
import shutil
import tempfile
import warnings

import torch

from .models import build_model
from .paths import cache_dir
from .reproducibility import package_versions, pick_device
from .training import D_X, FitResult, TrainConfig, fit

CACHE_VERSION = 1


def cache_key(config):
    """sha256 of the full training config plus the cache version."""
    payload = json.dumps({"config": config.to_dict(), "cache_version": CACHE_VERSION},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def entry_dir(config, root=None):
    return (root or cache_dir()) / cache_key(config)


def write_entry(final, state_dict, info):
    """Write `state_dict` (model.pt) and `info` (run.json) as folder `final`, atomically:
    everything goes to a temporary folder that is renamed into place only when complete."""
    tmp = tempfile.mkdtemp(prefix=final.name + ".tmp-", dir=final.parent)
    try:
        torch.save(state_dict, os.path.join(tmp, "model.pt"))
        with open(os.path.join(tmp, "run.json"), "w") as fh:
            json.dump(info, fh, indent=1)
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def read_entry(folder):
    """(state_dict, info) of an entry; raises OSError/ValueError/RuntimeError when damaged."""
    with open(folder / "run.json") as fh:
        info = json.load(fh)
    return torch.load(folder / "model.pt", map_location="cpu", weights_only=True), info


def save(result, root=None):
    """Write `result` atomically under its key; return the entry folder."""
    final = entry_dir(result.config, root)
    info = {"key": final.name, "cache_version": CACHE_VERSION, "config": result.config.to_dict(),
            "history": result.history, "test": result.test, "train_seconds": result.train_seconds,
            "stack_size": result.stack_size,
            "device": str(pick_device()), "versions": package_versions()}
    return write_entry(final, result.model.state_dict(), info)


def load(config, root=None):
    """The cached FitResult for `config`, or None when there is no complete, readable entry."""
    folder = entry_dir(config, root)
    if not folder.is_dir():
        return None
    try:
        state, info = read_entry(folder)
        as_json = json.loads(json.dumps(config.to_dict()))    # tuples (priors) come back as lists
        if info.get("key") != folder.name or info.get("config") != as_json:
            raise ValueError("run.json does not describe this config")
        model = build_model(config.model, D_X[config.dataset], config.d_z, config.n_layers,
                            config.prior_mean, config.prior_std)
        model.load_state_dict(state)
    except (OSError, ValueError, KeyError, RuntimeError, json.JSONDecodeError, EOFError) as err:
        warnings.warn(f"ignoring unreadable cache entry {folder} ({type(err).__name__}: {err}); "
                      f"it will be retrained", stacklevel=2)
        return None
    return FitResult(model.eval(), config, info["history"], info["train_seconds"], info["test"],
                     info.get("stack_size", 1))


def train_or_load(config, root=None, device=None, progress=True):
    """Load `config`'s model from the cache, or train it and cache it."""
    if not isinstance(config, TrainConfig):
        raise TypeError(f"expected a TrainConfig, got {type(config).__name__}")
    cached = load(config, root)
    if cached is not None:
        return cached
    result = fit(config, device=device, progress=progress)
    save(result, root)
    return result
