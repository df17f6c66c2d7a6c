"""Did training converge? Per-model stopping records, the final relative gain of the
validation loss, and the PCA baseline a linear AE must match at its optimum."""
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from .data import config_split, images_per_repeat, load_dataset
from .training import continue_training

WINDOW = 5              # epochs over which the final gain of the validation loss is measured
MAX_GAIN = 0.005        # converged: the best validation loss fell by less than this (relative) in WINDOW epochs
PCA_TOLERANCE = 0.02    # converged linear AEs: their test MSE is at most 2% above PCA's, in every repeat
CONTINUE_EPOCHS = 10    # the continuation check: this many more epochs (the protocol's continuation_epochs)
CONTINUE_LR_FACTOR = 0.1   # at the learning rate times this,
CONTINUE_LEVEL_EPOCHS = 5  # the level it reaches: the mean validation objective of its last half (level_epochs),
MAX_CONTINUATION_GAIN = 0.25   # must be below the best epoch's by less than this, nats per image
                               # (a quarter of the smallest effect that matters, 1 nat per image)


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


def pca_summary(check):
    """Per d_z: the linear AEs' mean test MSE over PCA's (mean over repeats), its worst repeat,
    and whether every repeat is within PCA_TOLERANCE (a repeat above it is not at its optimum)."""
    if check.empty:
        return pd.DataFrame(columns=["d_z", "ae_test_mse", "pca_test_mse", "worst_ratio", "ratio", "within_tolerance"])
    per = check.groupby("d_z").agg(ae_test_mse=("ae_test_mse", "mean"), pca_test_mse=("pca_test_mse", "mean"),
                                   worst_ratio=("ratio", "max")).reset_index()
    per["ratio"] = per["ae_test_mse"] / per["pca_test_mse"]
    per["within_tolerance"] = per["worst_ratio"] <= 1 + PCA_TOLERANCE
    return per
