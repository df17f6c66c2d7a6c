"""Grids of training configs, trained (stacked where they can be) or loaded from the cache."""
import itertools
import os

from ..core.data import images_per_repeat
from . import cache, jobs, store
from .progress import TrainingProgress, note
from .reproducibility import pick_device
from .stacked import fit_stacked, stack_groups
from .training import TrainConfig, fit


def grid(base, **axes):
    """TrainConfigs for every combination of `axes` (name -> list of values) on top of `base`."""
    names = list(axes)
    for name in names:
        if name not in TrainConfig.__dataclass_fields__:
            raise ValueError(f"grid axis {name!r} is not a TrainConfig field")
    return [TrainConfig(**{**base, **dict(zip(names, values))})
            for values in itertools.product(*(axes[n] for n in names))]


def unique(configs):
    """Configs without repeats, in their first order (shared models are trained once)."""
    return list(dict.fromkeys(configs))


def default_stack_size(device=None):
    """Members per stack: 10 on a CPU (measured by `make bench`), 64 on a GPU."""
    return 64 if pick_device(device).type == "cuda" else 10


def run_all(configs, device=None, max_stack=None):
    """Train (or load from the cache) every config; returns {config: FitResult}.

    What is not cached trains in stacks of up to `max_stack` configs that differ only in
    repeat, seed, β or prior (`vae_utils.engine.stacked`); each model is cached under its own key.
    With $VAE_EXECUTOR set (`vae_utils.engine.jobs`), each stack is a job, then loaded.
    A config that another process is training (its key is locked) is waited for and then
    loaded, so that two runs sharing a cache train it once. A model whose loss stops being
    finite is reported after the others are cached.
    """
    configs = unique(configs)
    results = {c: cache.load(c) for c in configs}
    missing = [c for c, r in results.items() if r is None]
    note(f"{len(configs) - len(missing)} of {len(configs)} model(s) loaded from the cache")
    executor = jobs.current()
    if missing and executor.kind != "serial":
        return _by_jobs(missing, results, executor, executor.stack_size(max_stack or default_stack_size(device)))
    locks, errors = {}, []
    try:
        for c in missing:
            locks[c] = store.try_key_lock(cache.cache_key(c))
        mine = [c for c in missing if locks[c] is not None]
        theirs = [c for c in missing if locks[c] is None]
        for c in mine:                    # finished by another process between our look and our lock
            results[c] = cache.load(c)
        errors += _train([c for c in mine if results[c] is None], results, device, max_stack,
                         saved=lambda c: locks.pop(c).release())   # a waiting run may load it now
    finally:
        for lock in locks.values():
            if lock is not None:
                lock.release()
    for c in theirs:                      # wait for the other process; train what it did not leave
        with store.key_lock(cache.cache_key(c)):
            results[c] = cache.load(c)
            if results[c] is None:
                errors += _train([c], results, device, max_stack)
    if errors:
        raise errors[0]
    return results


def _by_jobs(missing, results, executor, max_stack):
    """`missing` trained as jobs, one per stack group (`jobs.run_jobs`: each job locks, trains and
    saves through the cache), then loaded; RuntimeError naming every failed job and its log."""
    groups = stack_groups(missing, max_stack)
    note(f"training {len(missing)} model(s) in {len(groups)} stack(s) as jobs ({jobs.EXECUTOR_ENV}={executor})")
    failures = jobs.run_jobs(stack_tasks(groups, executor), executor, report=note)
    results.update({c: cache.load(c) for c in missing})
    left = [c for c in missing if results[c] is None]
    if failures or left:
        raise RuntimeError("\n".join(failures) or f"{len(left)} model(s) are not in the cache after their jobs")
    return results


def train_stacks(groups, threads=None):
    """A job (`vae_utils.engine.jobs`): the models of each stack group in `groups` from the cache or
    trained as one stack and cached; their cache keys. The job trains itself: it fans out nothing."""
    os.environ[jobs.EXECUTOR_ENV] = "serial"
    jobs.use_threads(threads)
    for configs in groups:
        print(f"training {len(configs)} model(s) as one stack: {configs[0].label()}, repeats "
              f"{sorted({c.repeat for c in configs})}", flush=True)       # the job's log says what it trains
        run_all(list(configs), max_stack=len(configs))
    return [cache.cache_key(c) for configs in groups for c in configs]


def work(group):
    """A stack's work at its epoch cap, to balance jobs: members × images per repeat × epochs."""
    return len(group) * images_per_repeat(group[0]) * group[0].max_epochs


def stack_tasks(groups, executor):
    """The jobs that train `groups` (stack groups) where `executor` runs them: one per group, except
    on this machine (local:N), where the groups are dealt into 4 × N jobs of about equal work
    (`jobs.pack`) so that few small jobs pay a process's start each. The largest job comes first."""
    bins = jobs.pack(groups, work, 4 * executor.jobs) if executor.kind == "local" else [[g] for g in groups]
    bins.sort(key=lambda b: sum(map(work, b)), reverse=True)
    return [jobs.Task(" + ".join(f"{len(g)} × {g[0].label()}" for g in b), train_stacks,
                      (tuple(tuple(g) for g in b), executor.threads())) for b in bins]


def _train(configs, results, device, max_stack, saved=None):
    """Train `configs` in stacks, cache each and put it in `results` (then call `saved(config)`);
    the errors, in order."""
    errors = []
    groups = stack_groups(configs, max_stack or default_stack_size(device))
    if groups:
        note(f"training {len(configs)} model(s) in {len(groups)} stack(s)")
    progress = TrainingProgress(groups)
    try:
        for i, group in enumerate(groups):
            progress.stack(i, group)
            if len(group) == 1:
                outcomes = [fit(group[0], device=device, progress=False, on_epoch=progress.epoch)]
            else:
                outcomes = fit_stacked(group, device=device, progress=False, on_epoch=progress.epoch)
            progress.stack_done()
            for config, outcome in zip(group, outcomes):
                if isinstance(outcome, Exception):
                    errors.append(outcome)
                    continue
                cache.save(outcome)
                results[config] = outcome
                if saved:
                    saved(config)
    finally:
        progress.close()
    return errors


def pick(results, **fields):
    """The one result whose config has all `fields` (e.g. model="vae", d_z=2, repeat=0)."""
    found = [r for c, r in results.items() if all(getattr(c, k) == v for k, v in fields.items())]
    if len(found) != 1:
        raise ValueError(f"{len(found)} trained models match {fields}; expected exactly one")
    return found[0]
