"""Trained models as tables: one row per model, one row per model and epoch, readable summaries."""
import numpy as np
import pandas as pd

from ..core.data import images_per_repeat
from ..core.models import parameter_count

CONFIG_COLUMNS = ["dataset", "model", "n_layers", "d_z", "beta", "repeat"]   # and train_images (n_train or all)


def results_table(results):
    """One row per trained model: its config, test metrics, parameter count and training time."""
    rows = []
    for config, result in results.items():
        row = {k: getattr(config, k) for k in CONFIG_COLUMNS}
        row["train_images"] = images_per_repeat(config)
        row.update(result.test)
        row["parameters"] = parameter_count(result.model)
        row["train_seconds"] = result.train_seconds
        row["epochs_run"] = result.stopping.get("epochs_run", len(result.history))
        row["best_epoch"] = result.stopping.get("best_epoch")
        rows.append(row)
    return pd.DataFrame(rows)


def history_table(results):
    """Long table of per-epoch training and validation terms, one row per model and epoch."""
    frames = []
    for config, result in results.items():
        frame = pd.DataFrame(result.history)
        for k in CONFIG_COLUMNS:
            frame[k] = getattr(config, k)
        frame["train_images"] = images_per_repeat(config)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def mean_std_table(summary, index, metrics, digits=4):
    """A readable 'mean ± std' table from `stats.summarise` output."""
    table = summary[index].copy()
    for m in metrics:
        table[m.replace("test_", "")] = ["—" if np.isnan(a) else f"{a:.{digits}g} ± {b:.2g}" for a, b in
                                         zip(summary[f"{m}_mean"], summary[f"{m}_std"].fillna(0))]
    return table.set_index(index)
