"""The β-VAE sweep of notebook 04: VAEs over a grid of β with the AE as the reference, paired
by repeat, measured for the study's claims 3–5 (AE-likeness, clustering, generation).

β weighs the KL term against a reconstruction term that is a per-example sum over pixels
(nats per image), in every notebook alike: β = 1 is the plain VAE, β = 0 the AE's objective
with a stochastic encoder.
"""
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from . import convergence, experiments, figures, generation, judge, latents, protocol, stats, tables, verdicts
from .data import config_split, dataset_info, load_dataset
from .likelihood import importance_weighted_bound
from .paths import output_dir
from .plotting import image_grid, savefig
from .runspec import run_of
from .samplers import decode

AE, CLAIMS = judge.AE, judge.CLAIMS
POSITION_METRICS = ("test_recon", "active_units", "code_rms", "nmi")
NO_AE_REFERENCE = {"test_kl", "test_sampled_recon", "test_elbo"}   # undefined for an AE (no posterior)


def arm(config):
    """The name of a model in the sweep: 'ae', or 'β=<value>' for a VAE."""
    return judge.arm(config.model, config.beta)


def beta_axis(ax, betas, linear_below=1e-3):
    """β on a symmetric-log axis (linear below `linear_below`, so β = 0 has a place), from 0 up."""
    ax.set_xscale("symlog", linthresh=linear_below)
    ax.set_xlim(-0.3 * linear_below, 1.5 * max(betas))
    ax.set_xlabel("β")


CLAIM_KEYS = ("ae_like", "vae_like", "clusters", "generates")   # the claims a run may test (`CLAIMS`)
CLUSTER_METRICS = ["nmi", "ari", "kmeans_accuracy", "probe_accuracy", "knn_accuracy", "silhouette"]
GENERATION_METRICS = ["frechet", "precision", "recall", "density", "coverage", "class_coverage"]


def check_claims(claims, betas, ae_like_betas, vae_like_betas, dataset, labelled):
    """ValueError naming an unknown claim, a β of claim 3 that is not in `betas`, or a clustering
    claim on unlabelled data, before any training."""
    unknown = sorted(set(claims) - set(CLAIM_KEYS))
    if unknown:
        raise ValueError(f"claims={claims}: unknown {unknown}; allowed: {', '.join(CLAIM_KEYS)}")
    named = set(ae_like_betas * ("ae_like" in claims) + vae_like_betas * ("vae_like" in claims))
    missing = sorted(named - set(betas))
    if missing:
        raise ValueError(f"ae_like_betas/vae_like_betas name β values {missing} that are not in betas={betas}")
    if "clusters" in claims and not labelled:
        raise ValueError(f"claims includes 'clusters', but {dataset} has no labels; drop it for this dataset")


def posterior_noise(summary, betas, dataset):
    """What β does to the encoder's noise, in words, from `BetaSweep.summary` (with posterior_std
    and active_units): the mean posterior std at β = 1 against the smallest and the largest β."""
    by_arm = summary.set_index("arm")
    std, smallest, largest = by_arm["posterior_std_mean"], f"β={min(betas):g}", f"β={max(betas):g}"
    lines = []
    if min(betas) < 1:
        lines.append(f"{dataset}: the mean posterior standard deviation is {std['β=1']:.3g} at β = 1 and "
                     f"{std[smallest]:.3g} at {smallest}"
                     + (": as the price of the KL falls, the encoder's noise only costs reconstruction, and its "
                        "variance is driven towards 0 (it does not become irrelevant)." if std[smallest] < std["β=1"]
                        else " (it did not fall)."))
    lines.append(f"{dataset}: at {largest} the mean posterior standard deviation is {std[largest]:.3g} "
                 f"(1 = the prior's).")
    lines.append("active units per β: " + ", ".join(f"{a} {by_arm.loc[a, 'active_units_mean']:.1f}"
                                                    for a in by_arm.index))
    return "\n".join(lines)


def check_betas(betas):
    """ValueError unless `betas` are distinct finite numbers ≥ 0 that include 1 (the plain VAE)."""
    if not betas or any(not (isinstance(b, (int, float)) and math.isfinite(b) and b >= 0) for b in betas):
        raise ValueError(f"betas={betas!r} is not allowed; it must be a non-empty list of finite numbers >= 0")
    if len(set(betas)) != len(betas) or 1 not in betas:
        raise ValueError(f"betas={betas!r} is not allowed; the values must be distinct and include 1 (the plain VAE)")


class BetaSweep:
    """The AE and a VAE per β in `betas` at (`n_layers`, `d_z`), over the protocol's repeats;
    with `figure_d_z`, the same models once (the first repeat) at that d_z, for figures."""

    metric = "test_recon"

    def __init__(self, notebook, tag, profile, dataset, betas, n_layers, d_z, figure_d_z=None, overrides=None):
        check_betas(betas)
        self.notebook, self.tag, self.profile, self.dataset = notebook, tag, profile, dataset
        self.betas = sorted(float(b) for b in betas)
        self.protocol = protocol.load(profile, dataset, overrides)
        self.repeats = list(range(self.protocol["repeats"]))
        self.min_effect, self.alpha = self.protocol["min_effect"], self.protocol["alpha"]
        self.info = dataset_info(dataset)
        base = {"dataset": dataset, "n_layers": n_layers, **protocol.training_fields(self.protocol)}
        self.d_z, self.figure_d_z = d_z, figure_d_z
        self.configs = self._grid(base, d_z, self.repeats)
        self.figure_configs = [] if figure_d_z is None else self._grid(base, figure_d_z, self.repeats[:1])
        self.data = load_dataset(dataset)
        self.labelled = self.data.train_y is not None
        self.tables = output_dir(profile, "tables")
        self.key_figures = []

    def _grid(self, base, d_z, repeats):
        return (experiments.grid(base, model=["vae"], beta=self.betas, d_z=[d_z], repeat=repeats)
                + experiments.grid(base, model=[AE], d_z=[d_z], repeat=repeats))

    def describe(self):
        p = self.protocol
        per_repeat = (f"its own disjoint block of {p['n_train']} training images" if p["n_train"] else
                      f"all {len(self.data.train_x)} training images in its own seeded order")
        figure = f"; at d_z = {self.figure_d_z} once more (first repeat, for figures)" if self.figure_d_z else ""
        return (f"{self.dataset}: the AE and a VAE at each β in {[f'{b:g}' for b in self.betas]} (β weighs the KL "
                f"against a reconstruction term summed over pixels, nats per image), n_layers = "
                f"{self.configs[0].n_layers}, d_z = {self.d_z}, {len(self.repeats)} repeats, each on {per_repeat} "
                f"(10% validation){figure}. Early stopping on the validation β-objective (patience "
                f"{p['patience']}, cap {p['max_epochs']}, best epoch restored); batch {p['batch_size']}, "
                f"Adam lr {p['lr']}.")

    def train(self):
        """Train what the cache lacks (every β of a repeat stacks); the per-model table and the
        convergence table (<tag>-convergence.csv). Returns the training time, in words."""
        everything = experiments.run_all(self.configs + self.figure_configs)
        self.results = {c: everything[c] for c in self.configs}
        self.figure_results = {c: everything[c] for c in self.figure_configs}
        self.runs = tables.results_table(self.results)
        self.runs.insert(2, "arm", [arm(c) for c in self.results])
        self.per_model = convergence.convergence_table(self.results)
        self.per_model.insert(1, "arm", [arm(c) for c in self.results])
        self.per_model.to_csv(self.tables / f"{self.tag}-convergence.csv", index=False)
        seconds = sum(r.train_seconds for r in everything.values())
        return f"training time of these models: {seconds / 60:.1f} min"

    def convergence_table(self):
        """One row per model: its stopping record and final gain (as `Sweep.convergence_table`)."""
        return self.per_model

    def convergence(self):
        """Per arm: epochs run, best epoch, models at the cap, the largest final gain, repeats converged."""
        return self.per_model.groupby("arm", sort=False).agg(
            epochs_run=("epochs_run", "mean"), best_epoch=("best_epoch", "mean"), hit_cap=("hit_cap", "sum"),
            final_gain_max=("final_gain", "max"), converged=("converged", "sum")).reset_index()

    @property
    def limited(self):
        """Arms with a repeat that did not converge (`judge.limited_arms`): not counted in verdicts."""
        return judge.limited_arms(self.per_model)

    def model(self, name, repeat=0, d_z=None):
        """The trained model of arm `name` ('ae' or 'β=…') at `d_z` (default: the main one)."""
        d_z = d_z or self.d_z
        pool = self.results if d_z == self.d_z else self.figure_results
        found = [r.model for c, r in pool.items() if arm(c) == name and c.d_z == d_z and c.repeat == repeat]
        if len(found) != 1:
            raise ValueError(f"{len(found)} models match arm={name!r}, d_z={d_z}, repeat={repeat}")
        return found[0]

    def measure(self, k=50):
        """Per model on the test set: active units, code scale, posterior std, the importance-weighted
        bound L_k (VAEs) and, on labelled data, clustering scores of the codes (raw, and active units
        standardised). Adds columns to `runs`; clustering goes to `clusters` (long, one row per view)."""
        rows, clusters = [], []
        test_x = self.data.test_x
        for config, result in self.results.items():
            means, stds = latents.posterior(result.model, test_x)
            row = latents.code_statistics(means, stds)
            if config.model == "vae":
                row["test_iw"] = float(importance_weighted_bound(result.model, test_x, config.likelihood, k).mean())
            rows.append(row)
            if self.labelled:
                train_idx = config_split(config, len(self.data.train_x))[0]
                for view, scores in latents.code_scores(result.model, self.data.train_x[train_idx],
                                                        self.data.train_y[train_idx], test_x, self.data.test_y,
                                                        seed=config.repeat).items():
                    clusters.append({"arm": arm(config), "beta": config.beta if config.model == "vae" else np.nan,
                                     "repeat": config.repeat, "view": view, **scores})
        self.runs = pd.concat([self.runs, pd.DataFrame(rows)], axis=1)
        self.iw_column = "test_iw"
        self.clusters = pd.DataFrame(clusters)
        self.runs.to_csv(self.tables / f"{self.tag}-runs.csv", index=False)
        if self.labelled:
            self.clusters.to_csv(self.tables / f"{self.tag}-clusters.csv", index=False)

    def table(self, view="active_standardised"):
        """Per model: the runs table with the clustering scores of `view` joined on."""
        return judge.with_codes(self.runs, self.clusters if self.labelled else None, view)

    def summary(self, metrics, view="active_standardised", name=None):
        """Mean, std and 95% interval over repeats per arm (AE first, then β ascending); with
        `name`, also written as <tag>-<name>.csv."""
        table = self.table(view)
        shown = [m for m in metrics if m in table]
        summary = stats.summarise(table, ["arm"], shown)
        order = {a: i for i, a in enumerate([AE] + [f"β={b:g}" for b in self.betas])}
        summary = summary.sort_values("arm", key=lambda s: s.map(order)).reset_index(drop=True)
        if name:
            summary.to_csv(self.tables / f"{self.tag}-{name}.csv", index=False)
        return summary

    def clustering_summaries(self, metrics=CLUSTER_METRICS, views=("active_standardised", "raw")):
        """Per view of the codes: the clustering scores as mean ± std per arm (written as
        <tag>-clustering-<view>.csv)."""
        return {view: tables.mean_std_table(self.summary(metrics, view, name=f"clustering-{view}"), ["arm"],
                                            metrics, digits=3) for view in views}

    def position(self, metrics=POSITION_METRICS, view="active_standardised"):
        """Where each β sits between the AE (0) and the plain VAE (1), per metric, from the means
        over repeats: p(β) = (m(β) − m_AE) / (m_VAE − m_AE)."""
        table = self.table(view)
        means = table.groupby("arm")[[m for m in metrics if m in table]].mean()
        spread = means.loc["β=1"] - means.loc[AE]
        position = (means - means.loc[AE]) / spread.where(spread != 0)    # undefined (NaN) where AE = VAE
        position = position.drop(index=AE).loc[[f"β={b:g}" for b in self.betas]]
        position.to_csv(self.tables / f"{self.tag}-position.csv")
        return position

    def generation(self, extractor, real_features, n, seed=0):
        """Sample quality: every VAE from its own prior; as the control, the VAEs with β ≥ 1 (those
        claim 5 compares) and the AE from a 10-component mixture fitted to their training codes."""
        control = {c: r for c, r in self.results.items() if c.model == AE or c.beta >= 1}
        self.scores = pd.concat([
            generation.score_generation(self.results, extractor, real_features, n, seed=seed,
                                        samplers={"vae": ["prior"], "ae": []}),
            generation.score_generation(control, extractor, real_features, n, seed=seed,
                                        samplers={"vae": ["mixture"], "ae": ["mixture"]})], ignore_index=True)
        self.scores.insert(1, "arm", [judge.arm(m, b) for m, b in zip(self.scores["model"], self.scores["beta"])])
        self.scores.to_csv(self.tables / f"{self.tag}-generation.csv", index=False)
        return self.scores

    def generation_summary(self, metrics=GENERATION_METRICS):
        """The generation scores (`generation`) as mean ± std per sampler, model and β (the metrics
        that are defined here; written as <tag>-generation-summary.csv)."""
        shown = [m for m in metrics if self.scores[m].notna().any()]
        summary = stats.summarise(self.scores, ["sampler", "model", "beta"], shown)
        summary.to_csv(self.tables / f"{self.tag}-generation-summary.csv", index=False)
        return tables.mean_std_table(summary, ["sampler", "model", "beta"], shown)

    # -- verdicts (`vae_utils.judge`, on this sweep's tables) ---------------------------------------
    def verdicts(self, claims, keys, **settings):
        """The verdict rows of the claims in both `claims` (the run's) and `keys`, judged on this
        sweep's tables (`judge.beta_verdicts`; `settings`: its parameters of `judge.BETA_SETTINGS`)."""
        return judge.beta_verdicts([k for k in keys if k in claims], self.runs, self.per_model,
                                   self.clusters if self.labelled else None, getattr(self, "scores", None),
                                   betas=self.betas, d_z=self.d_z, notebook=self.notebook, dataset=self.dataset,
                                   min_effect=self.min_effect, alpha=self.alpha, **settings)

    def save_verdict(self, rows):
        return verdicts.save(rows, run_of(self.notebook, self.dataset), self.profile, self.key_figures)

    # -- figures --------------------------------------------------------------------------------
    def _save(self, fig, name, key=False):
        savefig(fig, f"{self.tag}-{name}", self.profile)
        if key:
            self.key_figures.append(f"{self.tag}-{name}")
        plt.show()

    def rate_distortion(self):
        """Rate (test KL) against distortion (sampled test reconstruction) per β, means with 95%
        intervals over repeats; the AE's reconstruction (rate undefined) as a reference line."""
        summary = self.summary(["test_kl", "test_sampled_recon", "test_recon"])
        fig, ax = plt.subplots(figsize=(5.6, 4.2))
        vae = summary[summary["arm"] != AE]
        ax.errorbar(vae["test_kl_mean"], vae["test_sampled_recon_mean"],
                    xerr=[vae["test_kl_mean"] - vae["test_kl_ci_low"], vae["test_kl_ci_high"] - vae["test_kl_mean"]],
                    yerr=[vae["test_sampled_recon_mean"] - vae["test_sampled_recon_ci_low"],
                          vae["test_sampled_recon_ci_high"] - vae["test_sampled_recon_mean"]], fmt="o-", capsize=3)
        for row in vae.itertuples():
            ax.annotate(row.arm, (row.test_kl_mean, row.test_sampled_recon_mean), textcoords="offset points",
                        xytext=(5, 4), fontsize=8)
        ae = summary.loc[summary["arm"] == AE, "test_recon_mean"].item()
        ax.axhline(ae, color="k", ls="--", lw=1, label=f"AE reconstruction ({ae:.1f})")
        ax.set(xscale="log", xlabel="rate: test KL (nats per image)",
               ylabel="distortion: test E_q[−log p(x|z)] (nats per image)", title=f"{self.dataset}, d_z = {self.d_z}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        self._save(fig, "rate_distortion", key=True)

    def metrics_vs_beta(self, metrics, name, view="active_standardised"):
        """Each metric against β (symmetric-log axis, β = 0 included): mean and 95% interval over
        repeats; the AE's mean and interval as a grey band."""
        summary = self.summary(metrics, view)
        vae, ae = summary[summary["arm"] != AE], summary[summary["arm"] == AE]
        beta = [float(a.removeprefix("β=")) for a in vae["arm"]]
        fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * len(metrics), 3.1), squeeze=False)
        for ax, m in zip(axes[0], metrics):
            ax.errorbar(beta, vae[f"{m}_mean"], yerr=[vae[f"{m}_mean"] - vae[f"{m}_ci_low"],
                                                      vae[f"{m}_ci_high"] - vae[f"{m}_mean"]], fmt="o-", capsize=3)
            if m not in NO_AE_REFERENCE and not ae[f"{m}_mean"].isna().all():
                ax.axhline(ae[f"{m}_mean"].item(), color="grey", ls="--", lw=1, label="AE")
                ax.axhspan(ae[f"{m}_ci_low"].item(), ae[f"{m}_ci_high"].item(), color="grey", alpha=0.2)
            ax.axvline(1, color="C3", lw=0.6, ls=":")
            beta_axis(ax, beta)
            ax.set(title=m.replace("test_", "test ").replace("_", " "))
        handles, labels = axes[0][0].get_legend_handles_labels()
        if handles:
            axes[0][-1].legend(handles, labels, fontsize=8)
        fig.suptitle(f"{self.dataset}, d_z = {self.d_z} (95% intervals over {len(self.repeats)} repeats)", y=1.02)
        fig.tight_layout()
        self._save(fig, name, key=name == "clustering")

    def latent_scatters(self):
        """The study's 2-D views: test codes at `figure_d_z` coloured by class, one panel per model."""
        models = {("AE" if a == AE else a): self.model(a, d_z=self.figure_d_z)
                  for a in [AE] + [f"β={b:g}" for b in self.betas]}
        fig = figures.latent_scatter(models, self.data.test_x, self.data.test_y, self.info.class_names, ncols=5)
        fig.suptitle(f"{self.dataset}: test codes at d_z = {self.figure_d_z} (first repeat)", y=1.01)
        self._save(fig, f"latent-dz{self.figure_d_z}", key=self.labelled)

    def latent_histograms(self, shown):
        """Histograms of the posterior means at `figure_d_z` against the prior, one row per β in `shown`."""
        models = {f"β={b:g}": self.model(f"β={b:g}", d_z=self.figure_d_z) for b in shown}
        fig = figures.latent_histograms(models, self.data.test_x,
                                        title=f"{self.dataset}: posterior means (test) against the prior N(0, 1)")
        self._save(fig, f"latent_hist-dz{self.figure_d_z}")

    @torch.no_grad()
    def reconstructions_and_samples(self, n_show, seed=0):
        """Reconstructions of the first test images per model, and 32 prior samples per β."""
        rows = [("AE" if a == AE else a, self.model(a)) for a in [AE] + [f"β={b:g}" for b in self.betas]]
        fig = figures.reconstructions(rows, self.data.test_x[:n_show], self.data.image_shape)
        fig.suptitle(f"{self.dataset}, d_z = {self.d_z}: reconstructions (posterior means)", y=1.01)
        self._save(fig, "reconstructions")
        fig, axes = plt.subplots(1, len(self.betas), figsize=(2.2 * len(self.betas), 4.4))
        for ax, b in zip(np.atleast_1d(axes), self.betas):
            model = self.model(f"β={b:g}")
            codes = model.sample_prior(32, torch.Generator().manual_seed(seed))
            image_grid(decode(model, codes), self.data.image_shape, 4, ax=ax, title=f"β={b:g}")
        fig.suptitle(f"{self.dataset}, d_z = {self.d_z}: samples from the prior", y=1.0)
        fig.tight_layout()
        self._save(fig, "prior_samples", key=True)

    @torch.no_grad()
    def traversals(self, shown, steps=9, span=3.0):
        """Latent traversals at the main d_z: from the posterior mean of the first test image, each
        unit swept over ±`span` prior standard deviations; rows ordered by KL per unit (largest first)."""
        fig, axes = plt.subplots(1, len(shown), figsize=(2.6 * len(shown), 0.3 * self.d_z + 1.2))
        for ax, b in zip(np.atleast_1d(axes), shown):
            model = self.model(f"β={b:g}")
            means, stds = latents.posterior(model, self.data.test_x)
            kl = latents.kl_per_unit(means, stds, model.prior_mean.numpy(), model.prior_std.numpy())
            start = torch.as_tensor(means[0])
            offsets = torch.linspace(-span, span, steps)
            codes = []
            for j in np.argsort(-kl):
                row = start.repeat(steps, 1)
                row[:, j] = model.prior_mean[j] + offsets * model.prior_std[j]
                codes.append(row)
            image_grid(decode(model, torch.cat(codes)), self.data.image_shape, steps, ax=ax,
                       title=f"β={b:g}: KL/unit {' '.join(f'{v:.1f}' for v in np.sort(kl)[::-1][:3])}…")
        fig.suptitle(f"{self.dataset}, d_z = {self.d_z}: each unit swept over ±{span:g} prior std "
                     f"(rows: units by KL, largest first)", y=1.02)
        fig.tight_layout()
        self._save(fig, "traversals")

    def generation_figure(self, metric="frechet"):
        """`metric` of the generated images against β, one line per sampler (95% intervals over
        repeats; log scale for the Fréchet distance); the AE with the fitted mixture as a band."""
        fig, ax = plt.subplots(figsize=(5.6, 3.8))
        for i, (sampler, part) in enumerate(self.scores.groupby("sampler", sort=False)):
            summary = stats.summarise(part, ["model", "beta"], [metric])
            vae, ae = summary[summary["model"] == "vae"], summary[summary["model"] == AE]
            label = generation.SAMPLER_LABELS[sampler]
            mean = vae[f"{metric}_mean"]
            ax.errorbar(vae["beta"], mean, yerr=[mean - vae[f"{metric}_ci_low"], vae[f"{metric}_ci_high"] - mean],
                        fmt="o-", capsize=3, color=f"C{i}", label=f"β-VAE, {label}")
            if len(ae):
                ax.axhline(ae[f"{metric}_mean"].item(), color=f"C{i}", ls="--", lw=1, label=f"AE, {label}")
                ax.axhspan(ae[f"{metric}_ci_low"].item(), ae[f"{metric}_ci_high"].item(), color=f"C{i}", alpha=0.15)
        beta_axis(ax, self.scores["beta"])
        if metric == "frechet":
            ax.set_yscale("log")
        ax.set(xlabel="β", ylabel=metric, title=f"{self.dataset}, d_z = {self.d_z}: generated images "
                                               f"(lower is better)" if metric == "frechet" else self.dataset)
        ax.legend(fontsize=8)
        fig.tight_layout()
        self._save(fig, f"generation-{metric}", key=True)
