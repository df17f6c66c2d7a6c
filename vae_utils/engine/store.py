"""A generic store of trained models on disk: one folder per entry, keyed by a hash of what
determines the model.

An entry `<root>/<key>/` holds `model.pt` (a state_dict) and `run.json` (whatever describes
the run, plus the sha256 of model.pt). It is written in a temporary folder and renamed into
place, so a half-written entry never has the final name; it is read back with
`weights_only=True` after its bytes are checked against the recorded hash. `key_lock` lets one
process at a time train a key: a second one waits, then finds the entry.
"""
import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import tempfile
import warnings

import torch
from filelock import FileLock, Timeout

from ..config.paths import cache_dir, events_file


class CacheWriteError(OSError):
    """An entry could not be written (full disk, no permission, …); nothing was left in its place."""


def key_of(spec, prefix=""):
    """`prefix` + the first 20 hex digits of sha256 over `spec` (a JSON-able dict)."""
    return prefix + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


def as_json(value):
    """`value` as it reads back from JSON (tuples become lists), for comparing with run.json."""
    return json.loads(json.dumps(value))


def entry_dir(key, root=None):
    return (root or cache_dir()) / key


def report(message):
    """A cache event (an entry refused, a model retrained): a warning in the notebook, and a line
    in the run's event log, which scripts/run_notebook.py prints on the console of `make`."""
    warnings.warn(message, stacklevel=3)
    log = events_file()
    if log is not None:
        with open(log, "a") as fh:
            fh.write(message + "\n")


def write_entry(final, state_dict, info, spec_field):
    """Write `state_dict` (model.pt) and `info` (run.json, with the weights' sha256) as folder
    `final`, atomically; CacheWriteError naming the path, the bytes needed and the bytes free
    when the disk refuses.

    An entry in the way is replaced unless it is readable and its info[spec_field] is ours:
    then another process trained the same spec first, and its entry is kept.
    """
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    weights = buffer.getvalue()
    info = {**info, "weights_sha256": hashlib.sha256(weights).hexdigest()}
    text = json.dumps(info, indent=1).encode()
    try:
        tmp = tempfile.mkdtemp(prefix=final.name + ".tmp-", dir=final.parent)
    except OSError as err:
        raise _write_error(final, len(weights) + len(text), err) from err
    try:
        try:
            for name, payload in (("model.pt", weights), ("run.json", text)):
                with open(os.path.join(tmp, name), "wb") as fh:
                    fh.write(payload)
                    fh.flush()
                    os.fsync(fh.fileno())
        except OSError as err:
            raise _write_error(final, len(weights) + len(text), err) from err
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


def _write_error(final, needed, err):
    try:
        free = f"{shutil.disk_usage(final.parent).free:,} bytes free there"
    except OSError:
        free = "free space unknown"
    reason = "no space left on the device" if err.errno == errno.ENOSPC else err.strerror or str(err)
    return CacheWriteError(err.errno, f"could not save the cache entry {final}: {reason} (the entry needs "
                                      f"{needed:,} bytes; {free}); nothing was kept in its place. Free some "
                                      f"space or point VAE_CACHE_DIR at another folder")


def _holds(folder, spec_field, spec):
    """Whether `folder` is a readable entry of `spec`."""
    try:
        return read_entry(folder)[1].get(spec_field) == as_json(spec)
    except (OSError, ValueError, RuntimeError, EOFError):
        return False


def read_entry(folder):
    """(state_dict, info) of an entry; raises OSError/ValueError/RuntimeError when damaged,
    ValueError when model.pt's bytes differ from the sha256 its run.json records."""
    with open(folder / "run.json") as fh:
        info = json.load(fh)
    weights = (folder / "model.pt").read_bytes()
    recorded = info.get("weights_sha256")          # entries written before hashes were recorded have none
    if recorded is not None and hashlib.sha256(weights).hexdigest() != recorded:
        raise ValueError("model.pt does not match the sha256 recorded in run.json (the file changed "
                         "after it was written)")
    return torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True), info


def load_entry(folder, spec_field, spec, module):
    """`info` of the entry in `folder` after loading its weights into `module`, or None when
    there is none; a damaged entry, or one whose info[spec_field] is not `spec`, is reported
    (`report`: it will be retrained) and gives None."""
    if not folder.is_dir():
        return None
    try:
        state, info = read_entry(folder)
        if info.get("key") != folder.name or info.get(spec_field) != as_json(spec):
            raise ValueError(f"run.json does not describe this {spec_field}")
        module.load_state_dict(state)
    except (OSError, ValueError, KeyError, RuntimeError, json.JSONDecodeError, EOFError) as err:
        report(f"retraining cache entry {folder} because it is unreadable ({type(err).__name__}: {err})")
        return None
    return info


def _lock_path(key, root=None):
    folder = (root or cache_dir()) / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.lock"


def try_key_lock(key, root=None):
    """A held `FileLock` of `key` (call its `release()` to let go), or None when another process
    holds it. The OS releases the lock of a process that dies, even by SIGKILL."""
    lock = FileLock(_lock_path(key, root))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None
    return lock


@contextlib.contextmanager
def key_lock(key, root=None):
    """Hold the lock of `key`, waiting for the process that holds it (if any) to finish."""
    with FileLock(_lock_path(key, root)):
        yield
