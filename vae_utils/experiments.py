"""Grids of training configs, run through the cache, and their results as tables."""
import itertools

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from . import cache
from .models import parameter_count
from .reproducibility import pick_device
from .stacked import fit_stacked, stack_groups
from .training import TrainConfig, fit

CONFIG_COLUMNS = ["dataset", "model", "n_layers", "d_z", "beta", "fold"]


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
    fold, seed, β or prior (`vae_utils.stacked`); each model is cached under its own key.
    A model whose loss stops being finite is reported after the others are cached.
    """
    configs = unique(configs)
    results = {c: cache.load(c) for c in configs}
    groups = stack_groups([c for c, r in results.items() if r is None],
                          max_stack or default_stack_size(device))
    errors = []
    for group in tqdm(groups, desc="stacks"):    # silenced by TQDM_DISABLE=1 (make, CI)
        if len(group) == 1:
            outcomes = [fit(group[0], device=device, progress=False)]
        else:
            outcomes = fit_stacked(group, device=device, progress=False)
        for config, outcome in zip(group, outcomes):
            if isinstance(outcome, Exception):
                errors.append(outcome)
                continue
            cache.save(outcome)
            results[config] = outcome
    if errors:
        raise errors[0]
    return results


def pick(results, **fields):
    """The one result whose config has all `fields` (e.g. model="vae", d_z=2, fold=0)."""
    found = [r for c, r in results.items() if all(getattr(c, k) == v for k, v in fields.items())]
    if len(found) != 1:
        raise ValueError(f"{len(found)} trained models match {fields}; expected exactly one")
    return found[0]


def results_table(results):
    """One row per trained model: its config, test metrics, parameter count and training time."""
    rows = []
    for config, result in results.items():
        row = {k: getattr(config, k) for k in CONFIG_COLUMNS}
        row.update(result.test)
        row["parameters"] = parameter_count(result.model)
        row["train_seconds"] = result.train_seconds
        rows.append(row)
    return pd.DataFrame(rows)


def history_table(results):
    """Long table of per-epoch training and validation terms, one row per model and epoch."""
    frames = []
    for config, result in results.items():
        frame = pd.DataFrame(result.history)
        for k in CONFIG_COLUMNS:
            frame[k] = getattr(config, k)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def t_interval(values, level=0.95):
    """Mean and two-sided Student-t interval of the mean; (mean, nan, nan) for one value."""
    values = np.asarray(values, dtype=float)
    mean = values.mean()
    if len(values) < 2:
        return mean, np.nan, np.nan
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return mean, mean - half, mean + half


def summarise(table, by, metrics):
    """Mean, std, n and 95% t-interval of each metric over repeats (folds), per group."""
    rows = []
    for key, group in table.groupby(by, sort=True):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        for m in metrics:
            mean, low, high = t_interval(group[m])
            row.update({f"{m}_mean": mean, f"{m}_std": group[m].std(ddof=1), f"{m}_ci_low": low,
                        f"{m}_ci_high": high})
        row["n"] = len(group)
        rows.append(row)
    return pd.DataFrame(rows)


def _fold_gaps(table, by, metric, minus, plus):
    """`plus` − `minus` of `metric` for each group and fold (a Series indexed by `by` + fold)."""
    wide = table.pivot_table(index=by + ["fold"], columns="model", values=metric)
    if minus not in wide or plus not in wide:
        raise ValueError(f"a paired gap needs both models {minus!r} and {plus!r} in the table")
    return wide[plus] - wide[minus]


def paired_gap(table, by, metric, minus="ae", plus="vae"):
    """Per group: `plus` − `minus` of `metric`, paired by fold, with its 95% t-interval."""
    gap = _fold_gaps(table, by, metric, minus, plus).rename("gap").reset_index()
    rows = []
    for key, group in gap.groupby(by, sort=True):
        mean, low, high = t_interval(group["gap"])
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))),
                     "metric": metric, "gap": mean, "ci_low": low, "ci_high": high, "n": len(group)})
    return pd.DataFrame(rows)


def mean_std_table(summary, index, metrics, digits=4):
    """A readable 'mean ± std' table from `summarise` output."""
    table = summary[index].copy()
    for m in metrics:
        table[m.replace("test_", "")] = ["—" if np.isnan(a) else f"{a:.{digits}g} ± {b:.2g}" for a, b in
                                         zip(summary[f"{m}_mean"], summary[f"{m}_std"].fillna(0))]
    return table.set_index(index)


def gap_trend(table, x, metric, minus="ae", plus="vae"):
    """(plus − minus gap at the largest `x`) − (gap at the smallest `x`), paired by fold, with a 95% interval."""
    lo, hi = table[x].min(), table[x].max()
    gap = _fold_gaps(table, [x], metric, minus, plus).unstack(x)
    change = (gap[hi] - gap[lo]).dropna()
    mean, low, high = t_interval(change)
    return pd.DataFrame([{"comparison": f"{x}={lo} to {x}={hi}", "metric": metric, "gap": mean,
                          "ci_low": low, "ci_high": high, "n": len(change)}])
