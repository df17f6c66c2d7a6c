"""The AE-vs-VAE sweep the notebooks share: grid → train or load → convergence → tables →
summaries → paired gaps → verdict rows → standard figures. A notebook keeps its question, its
parameters, its calls and its narrative; everything it would otherwise copy from another
notebook is here.
"""
import math
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import baselines, convergence, experiments, figures, judge, protocol, stats, tables, verdicts
from .data import config_split, dataset_info, entropy_floor, load_dataset
from .likelihood import importance_weighted_bound
from .losses import scale_of
from .paths import output_dir
from .plotting import savefig
from .runspec import run_of

SHOWN = ["test_recon", "test_recon_excess", "train_recon", "generalisation_gap", "test_bce", "test_mse", "test_kl",
         "test_elbo", "test_iw", "sigma", "nmi", "probe_accuracy", "epochs_run", "parameters", "train_seconds"]
MODELS = ("ae", "vae")
CLAIM, SIZE = judge.CLAIM, judge.SIZE   # SIZE: the column of an n_train axis (images per repeat; None → all)


class Sweep:
    """AE and VAE trained over a grid of `axes` (e.g. n_layers, d_z; `fixed` holds other config
    fields) and the protocol's independent repeats, on the profile's protocol for `dataset`
    with `overrides` (`vae_utils.protocol`); its tables go to <results>/tables/<tag>-*.csv.

    The primary metric of the reconstruction claim is `test_recon`: the reconstruction term of
    the test images at the posterior mean, in nats per image (Bernoulli: BCE summed over
    pixels; Frey Face: the Gaussian negative log-likelihood with the model's learned σ, on
    dequantised pixels). Gaussian data also get the trivial baselines (`baselines`): a setting
    whose models do not beat the nearest training image is not counted.
    """

    metric = "test_recon"

    def __init__(self, notebook, tag, profile, dataset, axes, overrides=None, **fixed):
        self.notebook, self.tag, self.profile, self.dataset, self.axes = notebook, tag, profile, dataset, axes
        self.by = [SIZE if a == "n_train" else a for a in axes]     # the axes as table columns
        self.protocol = protocol.load(profile, dataset, overrides)
        self.repeats = list(range(self.protocol["repeats"]))
        self.min_effect, self.alpha = self.protocol["min_effect"], self.protocol["alpha"]
        self.info = dataset_info(dataset)
        base = {"dataset": dataset, **protocol.training_fields(self.protocol), **fixed}
        self.configs = experiments.grid(base, model=list(MODELS), **axes, repeat=self.repeats)
        self.data = load_dataset(dataset)
        self.floor = entropy_floor(self.data.test_x) if self.info.likelihood == "bernoulli" else np.nan
        self.tables = output_dir(profile, "tables")
        self.key_figures, self.baseline, self.measured = [], None, {}

    def describe(self):
        p = self.protocol
        n_all = len(self.data.train_x)
        if "n_train" in self.axes:
            per_repeat = ("at each size, its own disjoint block of that many training images, or, at "
                          f"n_train = None, all {n_all} in its own seeded order")
        else:
            per_repeat = (f"its own disjoint block of {p['n_train']} training images" if p["n_train"] else
                          f"all {n_all} training images in its own seeded order")
        grid = " × ".join(f"{len(v)} {k}" for k, v in self.axes.items())
        floor = "" if math.isnan(self.floor) else f"; entropy floor of the test images: {self.floor:.1f} nats"
        return (f"{self.dataset}: {len(self.configs)} models ({len(self.repeats)} repeats × 2 models × {grid}). "
                f"Each repeat uses {per_repeat} (10% of them for validation). Training stops when the "
                f"validation loss has not fallen by {100 * p['min_delta']:g}% for {p['patience']} epochs "
                f"(cap {p['max_epochs']}), best epoch restored; batch {p['batch_size']}, Adam lr {p['lr']}. "
                f"Test set: all {len(self.data.test_x)} images, used once. Likelihood: {self.info.likelihood}; "
                f"primary metric: {self.metric} (nats per image); smallest effect that matters: "
                f"{self.min_effect} nats per image{floor}.")

    def train(self, iw_samples=50):
        """Train what the cache lacks (stacked where possible); write the per-model table, with
        each VAE's importance-weighted bound on log p(x) from `iw_samples` samples (`test_iw`)."""
        self.results = experiments.run_all(self.configs)
        self.runs = tables.results_table(self.results)
        self.runs["test_recon_excess"] = self.runs["test_recon"] - self.floor
        self.runs["test_iw"] = [float(importance_weighted_bound(r.model, self.data.test_x, c.likelihood,
                                                                 iw_samples).mean())
                                if c.model == "vae" else np.nan for c, r in self.results.items()]
        if self.info.likelihood == "gaussian":
            self.runs["sigma"] = [scale_of(r.model) for r in self.results.values()]
        self.history = tables.history_table(self.results)
        self.measured = {}                          # the tables the verdicts are judged on, made once
        assert len(self.runs) == len(self.configs)
        assert self.runs[["test_recon", "test_bce", "test_mse", "test_loss"]].notna().all().all()
        self.runs.to_csv(self.tables / f"{self.tag}-runs.csv", index=False)
        return f"training time of these models: {self.runs['train_seconds'].sum() / 60:.1f} min"

    def baselines_table(self):
        """Gaussian data: the mean training image and the nearest training image of each repeat,
        scored on the test set as the models are (`baselines.reconstruction_baselines`), written
        once as <tag>-baselines.csv; None for Bernoulli data."""
        if "baselines" not in self.measured:
            table = None
            if self.configs[0].likelihood != "bernoulli":
                first = {c.repeat: c for c in self.configs}
                train_sets = [self.data.train_x[config_split(first[r], len(self.data.train_x))[0]]
                              for r in self.repeats]
                table = baselines.reconstruction_baselines(train_sets, self.data.test_x, self.configs[0].likelihood)
                table.to_csv(self.tables / f"{self.tag}-baselines.csv", index=False)
            self.measured["baselines"] = table
        return self.measured["baselines"]

    def baselines(self):
        """The baselines (`baselines_table`) as mean ± std over repeats (None for Bernoulli data);
        their NLL takes the σ that is best on the test set (σ² = their test MSE), which flatters
        them. Settings whose models (AE or VAE, mean over repeats) do not beat the nearest
        training image's test MSE are below-baseline (`judge.below_baseline`)."""
        table = self.baselines_table()
        if table is None:
            return None
        summary = table.groupby("baseline", sort=False)[["test_mse", "test_recon"]].agg(["mean", "std"])
        self.baseline = summary.xs("mean", axis=1, level=1)
        return summary

    def original_protocol(self):
        """Gaussian data: this sweep's VAEs retrained with the study's fixed σ² = ½ (summed
        squared error), beside the learned-σ VAEs, per setting: test KL, MSE per pixel, σ and
        the effective β. Dividing the fixed-σ objective by 2σ̂² (σ̂² its own residual variance)
        gives a calibrated Gaussian's NLL with the KL weighted by β = 1 / (2σ̂²), so a small
        residual variance means a large β, and a collapsed posterior."""
        configs = [replace(c, likelihood="gaussian_fixed") for c in self.configs if c.model == "vae"]
        fixed = tables.results_table(experiments.run_all(configs))
        fixed["protocol"], fixed["sigma"] = "study: fixed σ² = ½", math.sqrt(0.5)
        fixed["effective_beta"] = 1 / (2 * fixed["test_mse"])
        learned = self.runs[self.runs["model"] == "vae"].assign(protocol="learned σ", effective_beta=1.0)
        both = pd.concat([learned, fixed], ignore_index=True)
        both.to_csv(self.tables / f"{self.tag}-original_protocol.csv", index=False)
        shown = ["test_kl", "test_mse", "sigma", "effective_beta"]
        summary = stats.summarise(both, self.by + ["protocol"], shown)
        return tables.mean_std_table(summary, self.by + ["protocol"], shown)

    def below_baseline(self, by):
        """Settings (values of `by`) where the AE or the VAE does not beat the nearest training
        image in test MSE per pixel (`judge.below_baseline`); empty for Bernoulli data."""
        return judge.below_baseline(self.runs, self.baselines_table(), by)

    def convergence_table(self):
        """One row per model: its stopping record and final gain (`convergence.convergence_table`),
        written once as <tag>-convergence.csv."""
        if "convergence" not in self.measured:
            self.measured["convergence"] = convergence.convergence_table(self.results)
            self.measured["convergence"].to_csv(self.tables / f"{self.tag}-convergence.csv", index=False)
        return self.measured["convergence"]

    def convergence(self):
        """Per setting and model: epochs run, best epoch, the final gain of the validation loss
        and how many repeats converged (`judge.convergence_by_setting`)."""
        return judge.convergence_by_setting(self.convergence_table(), self.by)

    def pca_table(self):
        """The linear AEs against PCA on the same training images, per d_z and repeat (empty
        without a 1-layer model), written once as <tag>-pca_check.csv."""
        if "pca_check" not in self.measured:
            self.measured["pca_check"] = convergence.pca_check(self.runs, self.configs)
            if not self.measured["pca_check"].empty:
                self.measured["pca_check"].to_csv(self.tables / f"{self.tag}-pca_check.csv", index=False)
        return self.measured["pca_check"]

    def pca_check(self):
        """(per repeat, per d_z) of `pca_table`: at a d_z where the linear AEs miss PCA, nothing
        deeper is converged either, and every setting there is optimisation-limited."""
        check = self.pca_table()
        return check, convergence.pca_summary(check)

    @property
    def limited(self):
        """The optimisation-limited settings (`judge.limited_settings`): not counted in verdicts."""
        return judge.limited_settings(self.convergence_table(), self.by, self.pca_table())

    def summary(self):
        """Mean ± std over repeats per setting and model (also written as <tag>-summary.csv)."""
        by = self.by + ["model"]
        shown = [m for m in SHOWN if m in self.runs]
        summary = stats.summarise(self.runs, by, shown)
        summary.to_csv(self.tables / f"{self.tag}-summary.csv", index=False)
        return tables.mean_std_table(summary, by, shown)

    def model(self, kind, repeat=0, **setting):
        """The trained model of `kind` at `setting` (axis values) for one repeat (the first by default)."""
        return experiments.pick(self.results, model=kind, repeat=repeat, **setting).model

    def save_figure(self, fig, name, key=False):
        """Save `fig` as <tag>-<name> in the profile's figures (`key`: also in the report), and show it."""
        savefig(fig, f"{self.tag}-{name}", self.profile)
        if key:
            self.key_figures.append(f"{self.tag}-{name}")
        plt.show()

    def learning_curves(self, facet, name="learning_curves", title=None, **where):
        """Training and validation objective per epoch, evaluated alike, one panel per `facet` value."""
        fig = figures.learning_curves(self._where(self.history, where), facet=facet)
        fig.suptitle(title or self.dataset, y=1.03)
        self.save_figure(fig, name)

    def metrics(self, x, name="metrics", title=None, **where):
        """The paired VAE − AE gap of the primary metric against axis `x` (a key figure), and the
        per-pixel test metrics of both models (means) beside it."""
        runs = self._where(self.runs, where)
        gaps = stats.paired_gap(runs, [x], self.metric, self.min_effect)
        fig = figures.paired_gaps(gaps, x, self.min_effect, "VAE − AE, nats per image",
                                  f"{title or self.dataset}: VAE − AE test reconstruction")
        self.save_figure(fig, f"{name}-gap", key=True)
        fig = figures.metrics_vs(runs, x, ["test_recon", "test_bce", "test_mse"],
                                 title=f"{title or self.dataset}: test reconstruction (means over repeats)")
        self.save_figure(fig, name)

    def reconstructions(self, settings, n_show, name="reconstructions", title=None):
        """The first `n_show` test images, then AE and VAE rows for each setting in `settings`."""
        rows = [(f"{kind.upper()} " + " ".join(f"{k}={v}" for k, v in s.items()), self.model(kind, **s))
                for s in settings for kind in MODELS]
        fig = figures.reconstructions(rows, self.data.test_x[:n_show], self.data.image_shape)
        if title:
            fig.suptitle(title, y=1.02)
        self.save_figure(fig, name, key=True)

    def latent_space(self, d_z, key=False, **setting):
        """Test codes of AE and VAE at `d_z` (PCA beyond 2-D); at d_z = 2 also the VAE's histograms."""
        models = {f"{kind.upper()}, d_z={d_z}": self.model(kind, d_z=d_z, **setting) for kind in MODELS}
        fig = figures.latent_scatter(models, self.data.test_x, self.data.test_y, self.info.class_names)
        self.save_figure(fig, f"latent-dz{d_z}", key=key and d_z == 2)
        if d_z == 2:
            fig = figures.latent_histograms(self.model("vae", d_z=2, **setting), self.data.test_x,
                                            title=f"{self.dataset}: VAE posterior means vs N(0, 1)")
            self.save_figure(fig, "latent_hist-dz2")

    def gaps(self, by):
        """VAE − AE of the primary metric per setting in `by`, paired by repeat, with 95% intervals."""
        return stats.paired_gap(self.runs, by, self.metric, self.min_effect)

    def verdict(self, by, trend=None):
        """Verdict rows for 'AE reconstructs better than VAE' per setting in `by` and, with `trend`
        (an axis), for 'the gap grows with it' (`judge.reconstruction`), judged on this sweep's
        tables: optimisation-limited and below-baseline settings are marked, not counted."""
        return judge.reconstruction(self.runs, self.convergence_table(), by, notebook=self.notebook,
                                    dataset=self.dataset, min_effect=self.min_effect, alpha=self.alpha, trend=trend,
                                    pca_check=self.pca_table(), baselines=self.baselines_table())

    def verdict_summary(self, rows):
        """One line per claim: in how many settings each outcome was found."""
        lines = []
        for claim, part in rows.groupby("claim", sort=False):
            counts = part["holds"].value_counts()
            found = ", ".join(f"{counts[o]} {o}" for o in verdicts.OUTCOMES if o in counts)
            lines.append(f"{self.dataset}: '{claim}' over {len(part)} setting(s): {found} "
                         f"(VAE − AE of {part['metric'].iloc[0]}, n = {len(self.repeats)} repeats, "
                         f"Holm at {self.alpha}, smallest effect {part['min_effect'].iloc[0]:g}; "
                         f"values {part['value'].min():+.3g} … {part['value'].max():+.3g}).")
        return "\n".join(lines)

    def save_verdict(self, rows):
        """This run's verdict rows and key figures, for the report (scripts/report.py)."""
        return verdicts.save(rows, run_of(self.notebook, self.dataset), self.profile, self.key_figures)

    @staticmethod
    def _where(table, where):
        for k, v in where.items():
            table = table[table[k] == v]
        return table
