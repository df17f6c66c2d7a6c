"""A generic store of trained models on disk: one folder per entry, keyed by a hash of what
determines the model.

An entry `<root>/<key>/` holds `model.pt` (a state_dict) and `run.json` (whatever describes
the run). It is written in a temporary folder and renamed into place, so a half-written
entry never has the final name, and it is read back with `weights_only=True`.
"""
import hashlib
import json
import os
import shutil
import tempfile
import warnings

import torch

from .paths import cache_dir


def key_of(spec, prefix=""):
    """`prefix` + the first 20 hex digits of sha256 over `spec` (a JSON-able dict)."""
    return prefix + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


def as_json(value):
    """`value` as it reads back from JSON (tuples become lists), for comparing with run.json."""
    return json.loads(json.dumps(value))


def entry_dir(key, root=None):
    return (root or cache_dir()) / key


def write_entry(final, state_dict, info, spec_field):
    """Write `state_dict` (model.pt) and `info` (run.json) as folder `final`, atomically.

    An entry in the way is replaced unless it is readable and its info[spec_field] is ours:
    then another process (a second notebook under `make -j2`) trained the same spec first,
    and its entry is kept.
    """
    tmp = tempfile.mkdtemp(prefix=final.name + ".tmp-", dir=final.parent)
    try:
        torch.save(state_dict, os.path.join(tmp, "model.pt"))
        with open(os.path.join(tmp, "run.json"), "w") as fh:
            json.dump(info, fh, indent=1)
        if final.exists() and not _holds(final, spec_field, info[spec_field]):
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:
            if not _holds(final, spec_field, info[spec_field]):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _holds(folder, spec_field, spec):
    """Whether `folder` is a readable entry of `spec`."""
    try:
        return read_entry(folder)[1].get(spec_field) == as_json(spec)
    except (OSError, ValueError, RuntimeError, EOFError):
        return False


def read_entry(folder):
    """(state_dict, info) of an entry; raises OSError/ValueError/RuntimeError when damaged."""
    with open(folder / "run.json") as fh:
        info = json.load(fh)
    return torch.load(folder / "model.pt", map_location="cpu", weights_only=True), info


def load_entry(folder, spec_field, spec, module):
    """`info` of the entry in `folder` after loading its weights into `module`, or None when
    there is none; a damaged entry, or one whose info[spec_field] is not `spec`, is reported
    (it will be replaced) and gives None."""
    if not folder.is_dir():
        return None
    try:
        state, info = read_entry(folder)
        if info.get("key") != folder.name or info.get(spec_field) != as_json(spec):
            raise ValueError(f"run.json does not describe this {spec_field}")
        module.load_state_dict(state)
    except (OSError, ValueError, KeyError, RuntimeError, json.JSONDecodeError, EOFError) as err:
        warnings.warn(f"ignoring unreadable cache entry {folder.name} ({type(err).__name__}: {err}); "
                      f"it will be retrained", stacklevel=3)
        return None
    return info
