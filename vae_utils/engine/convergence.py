"""Did training converge? Per-model stopping records, the final relative gain of the
validation loss, the continuation check's engine (more epochs from the best one, on streams of
their own) and the PCA baseline a linear AE must match at its optimum."""
import copy

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA

from ..core.data import config_split, images_per_repeat, load_dataset
from ..inference.checks import PCA_TOLERANCE
from .reproducibility import pick_device
from .training import binariser, evaluate, make_optimizer, train_epoch, training_data

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


def continue_training(result, epochs, lr, device=None, streams=1):
    """Train copies of `result`'s model (its restored best epoch) for `epochs` more epochs at
    learning rate `lr` on the same training images, one per random stream; (validation objective
    before, for each stream the list of its values after each of those epochs), in nats per image.
    The model in `result` is not changed; each stream's shuffling and a VAE's noise come from the
    model's own seed (`continuation_seed`), and the caller's stream is kept."""
    config, device = result.config, pick_device(device)
    x_train, x_val, _, binarise = training_data(config, device)
    sample = config.model == "vae"
    before = evaluate(copy.deepcopy(result.model).to(device), x_val, config.likelihood, config.beta,
                      sample=sample)["loss"]
    curves = []
    for stream in range(streams):
        seed = continuation_seed(config, stream)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)   # a stream of its own
            model = copy.deepcopy(result.model).to(device)
            generator = torch.Generator().manual_seed(seed)
            if binarise is not None:   # dynamic binarisation: each stream from the same start
                binarise = binariser(config, device)
            optimizer = make_optimizer(model, lr)
            curve = []
            for _ in range(epochs):
                train_epoch(model, optimizer, x_train, config.batch_size, generator, config.likelihood, config.beta,
                            binarise)
                curve.append(evaluate(model, x_val, config.likelihood, config.beta, sample=sample)["loss"])
        curves.append(curve)
    return before, curves


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


def continuation_check(results, repeats=(0,), epochs=CONTINUE_EPOCHS, lr_factor=CONTINUE_LR_FACTOR,
                       max_gain=MAX_CONTINUATION_GAIN, streams=1, last=CONTINUE_LEVEL_EPOCHS):
    """A convergence test that can fail: each model of `repeats` (default: the first, so every
    setting is tried) trained `epochs` more epochs from its restored best epoch at its learning
    rate times `lr_factor`, under each of `streams` random streams (shuffling and a VAE's noise);
    `gain` is how far below the best epoch's validation objective the continuation's level
    (`continuation_level`: the mean of its `last` epochs) lies, nats per image, the median over
    the streams (negative: it ended worse), and the model passes when it is below `max_gain`.
    One row per model tried; with more than one stream, `gain_min` and `gain_max` give the spread
    of the single continuations."""
    if not (isinstance(streams, int) and not isinstance(streams, bool) and streams >= 1):
        raise ValueError(f"streams={streams!r} is not allowed; it must be an integer >= 1")
    rows = []
    for config, result in results.items():
        if config.repeat not in repeats:
            continue
        before, curves = continue_training(result, epochs, config.lr * lr_factor, streams=streams)
        levels = np.array([continuation_level(curve, last) for curve in curves])
        after = float(np.median(levels))
        row = {"model": config.model, "n_layers": config.n_layers, "d_z": config.d_z, "beta": config.beta,
               "train_images": images_per_repeat(config), "repeat": config.repeat, "val_before": before,
               "val_after": after, "gain": before - after}
        if streams > 1:
            row.update(streams=streams, gain_min=float(before - levels.max()), gain_max=float(before - levels.min()))
        rows.append({**row, "passes": bool(before - after < max_gain)})
    return pd.DataFrame(rows)


def with_continuation(per_model, check):
    """The per-model convergence table with the `continuation_check` results joined on
    (`continuation_gain`, NaN for a model not tried) and `converged` False for a model that
    failed it."""
    keys = [k for k in ("model", "n_layers", "d_z", "beta", "train_images", "repeat") if k in per_model]
    joined = per_model.drop(columns=["continuation_gain"], errors="ignore").merge(
        check[keys + ["gain"]].rename(columns={"gain": "continuation_gain"}), on=keys, how="left")
    joined["converged"] = joined["converged"] & ~(joined["continuation_gain"] >= MAX_CONTINUATION_GAIN)
    return joined


def pca_test_mse(config):
    """Test MSE per pixel of PCA with `config.d_z` components fitted on `config`'s training images."""
    data = load_dataset(config.dataset)
    train_idx, _ = config_split(config, len(data.train_x))
    pca = PCA(n_components=config.d_z, random_state=0).fit(data.train_x[train_idx].numpy())
    test = data.test_x.numpy()
    return float(np.mean((pca.inverse_transform(pca.transform(test)) - test) ** 2))


def pca_check(runs, configs):
    """Linear AEs (n_layers = 1) against PCA on the same training images, per d_z and repeat:
    the AE's test MSE over PCA's, and whether it is within PCA_TOLERANCE."""
    rows = []
    for c in configs:
        if c.model != "ae" or c.n_layers != 1:
            continue
        ae = runs[(runs["model"] == "ae") & (runs["n_layers"] == 1) & (runs["d_z"] == c.d_z)
                  & (runs["repeat"] == c.repeat)]["test_mse"].item()
        pca = pca_test_mse(c)
        rows.append({"d_z": c.d_z, "repeat": c.repeat, "ae_test_mse": ae, "pca_test_mse": pca,
                     "ratio": ae / pca, "within_tolerance": ae <= (1 + PCA_TOLERANCE) * pca})
    return pd.DataFrame(rows)
