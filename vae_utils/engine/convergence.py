"""Did training converge? Per-model stopping records, the final relative gain of the
validation loss, the continuation check's engine (more epochs from the best one, on streams of
their own) and the PCA baseline a linear AE must match at its optimum."""
import copy
import random

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA

from ..core.data import config_split, images_per_repeat, load_dataset
from ..inference.checks import PCA_TOLERANCE
from .reproducibility import pick_device
from .stacked import StackedTrainer, stack_groups
from .training import evaluate

WINDOW = 5              # epochs over which the final gain of the validation loss is measured
MAX_GAIN = 0.005        # converged: the best validation loss fell by less than this (relative) in WINDOW epochs
CONTINUE_EPOCHS = 10    # the continuation check: this many more epochs (the protocol's continuation_epochs)
CONTINUE_LR_FACTOR = 0.1   # at the learning rate times this,
CONTINUE_LEVEL_EPOCHS = 5  # the level it reaches: the mean validation objective of its last half (level_epochs),
MAX_CONTINUATION_GAIN = 0.25   # must be below the best epoch's by less than this, nats per image
                               # (a quarter of the smallest effect that matters, 1 nat per image)


CONTINUATION_SEED = 104729     # the continuation check's streams: a seed of their own per model and stream


def continuation_seed(config, stream=0):
    """The seed of continuation stream `stream` of `config`'s model (stream 0 is the first and,
    with one stream, the only one)."""
    return config.seed * 1000 + config.repeat + CONTINUATION_SEED + 1_000_003 * stream


def continuations(results, epochs, lr_factor, streams=1, device=None, max_members=10):
    """{config: (validation objective before, for each of `streams` random streams the list of
    its values after each of `epochs` more epochs)}, nats per image: copies of each result's model
    (its restored best epoch) trained on at its learning rate times `lr_factor` on its own training
    images, the models of one architecture and their streams as one stack
    (`stacked.StackedTrainer`, at most `max_members` members). Each stream's shuffling and a VAE's
    noise come from the model's own seed (`continuation_seed`); the models in `results` and the
    caller's random streams (torch, NumPy, Python) are left as they were."""
    device = pick_device(device)
    out = {}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        numpy_state, python_state = np.random.get_state(), random.getstate()
        try:
            for group in stack_groups(list(results), max(1, max_members // streams)):
                out.update(_continue_stack(group, results, epochs, lr_factor, streams, device))
        finally:
            np.random.set_state(numpy_state)
            random.setstate(python_state)
    return out


def _continue_stack(configs, results, epochs, lr_factor, streams, device):
    """`continuations` of one stack group: every config under every stream as one stack."""
    members = [(c, s) for c in configs for s in range(streams)]
    data = load_dataset(configs[0].dataset)
    start = [(copy.deepcopy(results[c].model), continuation_seed(c, s)) for c, s in members]
    trainer = StackedTrainer([c for c, _ in members], data, device, start=start,
                             lr=configs[0].lr * lr_factor, distinct=False)
    before = {c: evaluate(trainer.members[i], trainer.val_x[i], c.likelihood, c.beta, sample=c.model == "vae")["loss"]
              for i, (c, s) in enumerate(members) if s == 0}
    curves = [[] for _ in members]
    for _ in range(epochs):
        trainer.train_epoch()
        trainer.write_back()
        for i, (c, _) in enumerate(members):
            curves[i].append(evaluate(trainer.members[i], trainer.val_x[i], c.likelihood, c.beta,
                                      sample=c.model == "vae")["loss"])
    return {c: (before[c], curves[k * streams:(k + 1) * streams]) for k, c in enumerate(configs)}


def selection_effect(result, epochs=CONTINUE_EPOCHS, last=CONTINUE_LEVEL_EPOCHS):
    """How far the best epoch's validation objective lies below the level the model's own last
    phase of training held over the `epochs` epochs after the best (the mean of their last `last`,
    as a continuation's level is taken), nats per image; 0 when no epoch follows. The window
    starts after the best epoch, or after the first phase when the best is in it: the annealing
    phase then went on from the best at the continuation's learning rate, as a continuation does.
    A converged model's continuation lies about this much above its best epoch (the best is the
    luckiest epoch of a jittering curve), so a continuation gain must be read against it."""
    best_epoch = result.stopping["best_epoch"]
    start = max(best_epoch, result.stopping.get("annealed_after") or 0)
    after = [h["val_loss"] for h in result.history if h["epoch"] > start][:epochs]
    if not after:
        return 0.0
    return float(np.mean(after[-last:])) - min(h["val_loss"] for h in result.history)


def final_gain(val_losses, window=WINDOW):
    """Relative fall of the best validation loss over the last `window` epochs (0 = flat)."""
    losses = np.asarray(val_losses, dtype=float)
    if len(losses) <= window:
        return np.nan
    before, after = losses[:-window].min(), losses.min()
    return (before - after) / abs(after)


def convergence_table(results):
    """One row per model: when it stopped, its best epoch, and whether it converged."""
    rows = []
    for config, result in results.items():
        gain = final_gain([h["val_loss"] for h in result.history])
        rows.append({"model": config.model, "n_layers": config.n_layers, "d_z": config.d_z,
                     "beta": config.beta, "train_images": images_per_repeat(config), "repeat": config.repeat,
                     **result.stopping,
                     "best_val_loss": min(h["val_loss"] for h in result.history),
                     "final_gain": gain, "converged": bool(gain < MAX_GAIN)})
    return pd.DataFrame(rows)


def level_epochs(epochs):
    """How many of a continuation's `epochs` its level averages: the last half (5 of the protocol's 10)."""
    return max(1, epochs // 2)


def continuation_level(curve, last=CONTINUE_LEVEL_EPOCHS):
    """The level a continuation reached: the mean validation objective of its `last` epochs (the
    lowest single epoch would pick out the luckiest of them, so a converged model whose objective
    jitters from epoch to epoch would seem to gain)."""
    if len(curve) < last:
        raise ValueError(f"a continuation of {len(curve)} epoch(s) is too short; the level is the mean "
                         f"of its last {last} epochs")
    return float(np.mean(curve[-last:]))


def continuation_check(results, repeats=None, epochs=CONTINUE_EPOCHS, lr_factor=CONTINUE_LR_FACTOR,
                       max_gain=MAX_CONTINUATION_GAIN, streams=1, last=CONTINUE_LEVEL_EPOCHS, selection=False,
                       device=None, max_members=10):
    """A convergence test that can fail: each model of `repeats` (None: every repeat) trained
    `epochs` more epochs from its restored best epoch at its learning rate times `lr_factor`,
    under each of `streams` random streams (`continuations`, stacked); `gain` is how far below the
    best epoch's validation objective the continuation's level (`continuation_level`: the mean of
    its `last` epochs) lies, nats per image, the median over the streams (negative: it ended
    worse). `selection` is the best epoch's selection effect (`selection_effect`); the model passes
    when its gain is below `threshold`: `max_gain`, less the selection effect where `selection`
    is True (a converged model's gain is about minus that, so an under-training smaller than it
    would pass unseen). One row per model tried; with more than one stream, `gain_min` and
    `gain_max` give the spread of the single continuations."""
    if not (isinstance(streams, int) and not isinstance(streams, bool) and streams >= 1):
        raise ValueError(f"streams={streams!r} is not allowed; it must be an integer >= 1")
    tried = {c: r for c, r in results.items() if repeats is None or c.repeat in repeats}
    continued = continuations(tried, epochs, lr_factor, streams, device, max_members) if tried else {}
    rows = []
    for config, result in tried.items():
        before, curves = continued[config]
        levels = np.array([continuation_level(curve, last) for curve in curves])
        after = float(np.median(levels))
        effect = selection_effect(result, epochs, last)
        threshold = max_gain - effect if selection else max_gain
        row = {"model": config.model, "n_layers": config.n_layers, "d_z": config.d_z, "beta": config.beta,
               "train_images": images_per_repeat(config), "repeat": config.repeat, "val_before": before,
               "val_after": after, "gain": before - after, "selection": effect, "threshold": threshold}
        if streams > 1:
            row.update(streams=streams, gain_min=float(before - levels.max()), gain_max=float(before - levels.min()))
        rows.append({**row, "passes": bool(before - after < threshold)})
    return pd.DataFrame(rows)


def with_continuation(per_model, check):
    """The per-model convergence table with the `continuation_check` results joined on
    (`continuation_gain`, NaN for a model not tried) and `converged` False for a model that
    failed it."""
    keys = [k for k in ("model", "n_layers", "d_z", "beta", "train_images", "repeat") if k in per_model]
    joined = per_model.drop(columns=["continuation_gain"], errors="ignore").merge(
        check[keys + ["gain", "passes"]].rename(columns={"gain": "continuation_gain"}), on=keys, how="left")
    joined["converged"] = joined["converged"] & ~joined.pop("passes").eq(False)
    return joined


def pca_test_mse(config):
    """Test MSE per pixel of PCA with `config.d_z` components fitted on `config`'s training images."""
    data = load_dataset(config.dataset)
    train_idx, _ = config_split(config, len(data.train_x))
    pca = PCA(n_components=config.d_z, random_state=0).fit(data.train_x[train_idx].numpy())
    test = data.test_x.numpy()
    return float(np.mean((pca.inverse_transform(pca.transform(test)) - test) ** 2))


def pca_check(results):
    """The linear AEs (n_layers = 1) of `results` ({config: FitResult}) against PCA on the same
    training images, per d_z, training-set size and repeat: the AE's test MSE over PCA's, and
    whether it is within PCA_TOLERANCE."""
    rows = []
    for c, result in results.items():
        if c.model != "ae" or c.n_layers != 1:
            continue
        ae, pca = result.test["test_mse"], pca_test_mse(c)
        rows.append({"d_z": c.d_z, "train_images": images_per_repeat(c), "repeat": c.repeat, "ae_test_mse": ae,
                     "pca_test_mse": pca, "ratio": ae / pca, "within_tolerance": ae <= (1 + PCA_TOLERANCE) * pca})
    return pd.DataFrame(rows)
