"""The AE-vs-VAE sweep the notebooks share: grid → train or load → tables → summaries →
paired gaps → verdict rows → standard figures. A notebook keeps its question, its parameters,
its calls and its narrative; everything it would otherwise copy from another notebook is here.
"""
import matplotlib.pyplot as plt
import pandas as pd

from . import experiments, figures, protocol, stats, tables, verdicts
from .data import dataset_info, load_dataset
from .paths import output_dir, run_name
from .plotting import savefig

SHOWN = ["test_bce", "test_mse", "test_l1", "test_sampled_bce", "test_recon", "test_kl",
         "parameters", "train_seconds"]
MODELS = ("ae", "vae")


class Sweep:
    """AE and VAE trained over a grid of `axes` (e.g. n_layers, d_z; `fixed` holds other config
    fields) and the protocol's repeats, on the profile's training protocol for `dataset` with
    `overrides` (`vae_utils.protocol`); its tables are written to <results>/tables/<tag>-*.csv."""

    def __init__(self, notebook, tag, profile, dataset, axes, overrides=None, **fixed):
        self.notebook, self.tag, self.profile, self.dataset, self.axes = notebook, tag, profile, dataset, axes
        self.protocol = protocol.load(profile, dataset, overrides)
        self.folds = self.protocol["folds"]
        self.info = dataset_info(dataset)
        self.metric = self.info.metric
        base = {k: v for k, v in self.protocol.items() if k != "folds"}
        self.configs = experiments.grid({"dataset": dataset, **base, **fixed}, model=list(MODELS), **axes,
                                        fold=self.folds)
        self.data = load_dataset(dataset)
        self.tables = output_dir(profile, "tables")
        self.key_figures = []

    def describe(self):
        p, n = self.protocol, self.protocol["n_train"] or len(self.data.train_x)
        grid = " × ".join(f"{len(v)} {k}" for k, v in self.axes.items())
        return (f"{self.dataset}: {len(self.configs)} models ({len(self.folds)} folds × 2 models × {grid}), "
                f"{p['epochs']} epochs, batch {p['batch_size']}, Adam lr {p['lr']}, training on {n} images "
                f"split {p['n_folds']}-fold; test set: {len(self.data.test_x)} images; likelihood: "
                f"{self.info.likelihood}; primary metric: {self.metric}")

    def train(self):
        """Train what the cache lacks (stacked where possible); write the per-model table."""
        self.results = experiments.run_all(self.configs)
        self.runs = tables.results_table(self.results)
        self.history = tables.history_table(self.results)
        assert len(self.runs) == len(self.configs)
        assert self.runs[["test_bce", "test_mse", "test_l1", "test_loss"]].notna().all().all()
        self.runs.to_csv(self.tables / f"{self.tag}-runs.csv", index=False)
        return f"training time of these models: {self.runs['train_seconds'].sum() / 60:.1f} min"

    def summary(self):
        """Mean ± std over folds per setting and model (also written as <tag>-summary.csv)."""
        by = list(self.axes) + ["model"]
        summary = stats.summarise(self.runs, by, SHOWN)
        summary.to_csv(self.tables / f"{self.tag}-summary.csv", index=False)
        return tables.mean_std_table(summary, by, SHOWN)

    def model(self, kind, fold=None, **setting):
        """The trained model of `kind` at `setting` (axis values) for one fold (the first by default)."""
        fold = self.folds[0] if fold is None else fold
        return experiments.pick(self.results, model=kind, fold=fold, **setting).model

    def _save(self, fig, name, key=False):
        savefig(fig, f"{self.tag}-{name}", self.profile)
        if key:
            self.key_figures.append(f"{self.tag}-{name}")
        plt.show()

    def learning_curves(self, facet, name="learning_curves", title=None, **where):
        """Training and validation reconstruction per epoch, one panel per `facet` value."""
        fig = figures.learning_curves(self._where(self.history, where), facet=facet)
        fig.suptitle(title or self.dataset, y=1.03)
        self._save(fig, name)

    def metrics(self, x, name="metrics", title=None, **where):
        """Test BCE, MSE and L1 against axis `x`, AE and VAE side by side (a key figure)."""
        fig = figures.metrics_vs(self._where(self.runs, where), x, ["test_bce", "test_mse", "test_l1"],
                                 title=f"{title or self.dataset}: test reconstruction error (mean, 95% CI)")
        self._save(fig, name, key=True)

    def reconstructions(self, settings, n_show, name="reconstructions", title=None):
        """The first `n_show` test images, then AE and VAE rows for each setting in `settings`."""
        rows = [(f"{kind.upper()} " + " ".join(f"{k}={v}" for k, v in s.items()), self.model(kind, **s))
                for s in settings for kind in MODELS]
        fig = figures.reconstructions(rows, self.data.test_x[:n_show], self.data.image_shape)
        if title:
            fig.suptitle(title, y=1.02)
        self._save(fig, name, key=True)

    def latent_space(self, d_z, key=False, **setting):
        """Test codes of AE and VAE at `d_z` (PCA beyond 2-D); at d_z = 2 also the VAE's histograms."""
        models = {f"{kind.upper()}, d_z={d_z}": self.model(kind, d_z=d_z, **setting) for kind in MODELS}
        fig = figures.latent_scatter(models, self.data.test_x, self.data.test_y, self.info.class_names)
        self._save(fig, f"latent-dz{d_z}", key=key and d_z == 2)
        if d_z == 2:
            fig = figures.latent_histograms(self.model("vae", d_z=2, **setting), self.data.test_x,
                                            title=f"{self.dataset}: VAE posterior means vs N(0, 1)")
            self._save(fig, "latent_hist-dz2")

    def gaps(self, by):
        """VAE − AE of the primary metric per setting in `by`, paired by fold, with 95% intervals."""
        return stats.paired_gap(self.runs, by, self.metric)

    def verdict(self, by, trend=None):
        """Verdict rows for 'AE reconstructs better than VAE' per setting in `by` and, with
        `trend` (an axis), for 'the gap is larger at the largest value of it than at the smallest'."""
        rows = verdicts.verdict_rows(self.notebook, self.dataset, "AE reconstructs better than VAE",
                                     self.gaps(by), by, direction=+1)
        if trend:
            change = stats.gap_trend(self.runs, trend, self.metric)
            rows = pd.concat([rows, verdicts.verdict_rows(
                self.notebook, self.dataset, f"AE-VAE gap larger at larger {trend}", change,
                ["comparison"], +1)], ignore_index=True)
        return rows

    def verdict_summary(self, rows):
        """One line per claim: in how many settings it holds, is contradicted, is inconclusive."""
        lines = []
        for claim, part in rows.groupby("claim", sort=False):
            counts = part["holds"].value_counts()
            lines.append(f"{self.dataset}: '{claim}' holds in {counts.get('yes', 0)} of {len(part)} setting(s), "
                         f"is contradicted in {counts.get('no', 0)} and inconclusive in "
                         f"{counts.get('inconclusive', 0)} ({self.metric}, VAE − AE, {len(self.folds)} folds; "
                         f"values {part['value'].min():+.4f} … {part['value'].max():+.4f}).")
        return "\n".join(lines)

    def save_verdict(self, rows):
        """This run's verdict rows and key figures, for the report (scripts/report.py)."""
        return verdicts.save(rows, run_name(f"{self.notebook}--{self.dataset}"), self.profile, self.key_figures)

    @staticmethod
    def _where(table, where):
        for k, v in where.items():
            table = table[table[k] == v]
        return table
