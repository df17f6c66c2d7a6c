"""The measure stage: a run's models trained (or loaded from the cache) and measured, as one value.

`ae_vs_vae` (notebooks 2, 3, 5 and 6: AE and VAE over a grid) and `beta_grid` (notebook 4: the
AE and a VAE per β) return a `Measured`: the run's identity, its data, its models and its
per-model tables. Every table is made once, here, and written through the run's `Outputs`; the
judge stage (`vae_utils.study.judge`) and the figures (`vae_utils.study.show`) are functions of it, so what
they give does not depend on what was called before. `add_codes`, `add_generation` and
`data_size.add_training_reconstruction` return a new value with more columns or tables.
"""
import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from ..config import protocol
from ..config.claims import AE, SIZE, arm
from ..config.runspec import run_of
from ..core.data import config_split, dataset_info, entropy_floor, load_dataset
from ..core.losses import scale_of
from ..engine import convergence, experiments
from ..engine.progress import note
from ..inference import families, stats
from ..metrics import baselines, latents
from ..metrics.likelihood import importance_weighted_bound
from . import generation, tables
from .beta import check_betas
from .outputs import Outputs


@dataclass(frozen=True)
class Measured:
    """One run, measured. `runs`: one row per model (config columns, stopping record, test metrics
    and whatever the run measured); `convergence`: each model's stopping record; `pca_check`: the
    linear AEs against PCA (empty without 1-layer models); `baselines`: the trivial reconstructions
    of Gaussian data (None for Bernoulli data); `clusters` and `scores`: notebook 4's clustering
    (one row per model and view of the codes) and generation scores, when measured."""
    notebook: str
    dataset: str
    profile: str
    protocol: dict
    axes: dict                      # the grid's axes and their values (e.g. {"d_z": [2, 10]})
    configs: list
    data: object
    results: dict                   # config → trained model and its record (`training.TrainResult`)
    runs: pd.DataFrame
    history: pd.DataFrame
    convergence: pd.DataFrame
    out: Outputs
    pca_check: pd.DataFrame = None
    baselines: pd.DataFrame = None
    clusters: pd.DataFrame = None
    scores: pd.DataFrame = None
    reference: dict = None          # the real images' generation scores against the test set
    continuation: pd.DataFrame = None   # the continuation check's models (`add_continuation`)
    figure_results: dict = field(default_factory=dict)    # notebook 4's figure-only models
    fixed: dict = field(default_factory=dict)             # config fields the grid holds fixed

    @cached_property
    def sibling_tests(self):
        """{claim: tests} the other runs of the profile on this dataset plan (`families.sibling_tests`):
        resolved once, then passed to the judge as a value."""
        return families.sibling_tests(self.profile, run_of(self.notebook, self.dataset))

    @property
    def by(self):
        """The grid's axes as table columns (an `n_train` axis is the SIZE column)."""
        return [SIZE if a == "n_train" else a for a in self.axes]

    @property
    def repeats(self):
        return list(range(self.protocol["repeats"]))

    @property
    def min_effect(self):
        return self.protocol["min_effect"]

    @property
    def alpha(self):
        return self.protocol["alpha"]

    @property
    def info(self):
        return dataset_info(self.dataset)

    @property
    def labelled(self):
        return self.data.train_y is not None

    @property
    def floor(self):
        return floor_of(self.dataset, self.data)

    def model(self, kind, repeat=0, **setting):
        """The trained model of `kind` ('ae' or 'vae') for one repeat (the first by default) at
        `setting` (config values, e.g. d_z=2, n_layers=1, beta=4; notebook 4's figure-only models
        at d_z=figure_d_z)."""
        figures = self.figure_results and setting.get("d_z", self.configs[0].d_z) != self.configs[0].d_z
        return experiments.pick(self.figure_results if figures else self.results, model=kind, repeat=repeat,
                                **setting).model


def floor_of(dataset, data):
    """The entropy floor of Bernoulli test images (nats per image); NaN for Gaussian data."""
    return entropy_floor(data.test_x) if dataset_info(dataset).likelihood == "bernoulli" else np.nan


def arm_of(config):
    """The name of a model in a β grid: 'ae', or 'β=<value>' for a VAE."""
    return arm(config.model, config.beta)


def _trained(configs, extra=()):
    """Every model of `configs` (and `extra`) from the cache or trained (stacked where possible)."""
    everything = experiments.run_all(list(configs) + list(extra))
    return {c: everything[c] for c in configs}, {c: everything[c] for c in extra}


def grid_configs(used, dataset, axes, **fixed):
    """The configs of AE and VAE over the grid `axes` and the repeats of the protocol `used`
    (`fixed`: other config fields): what `ae_vs_vae` trains, and `plan` plans."""
    base = {"dataset": dataset, **protocol.training_fields(used), **fixed}
    return experiments.grid(base, model=["ae", "vae"], **axes, repeat=list(range(used["repeats"])))


def linear_configs(configs):
    """The linear AEs (n_layers = 1) at every d_z, training-set size and repeat of `configs` that
    `configs` lack: the PCA check's models (`convergence.pca_check`), so that a setting whose
    optimum the optimiser misses there is judged so in every notebook that trains at it."""
    linear = [replace(c, model="ae", n_layers=1, beta=1.0) for c in configs]
    return [c for c in dict.fromkeys(linear) if c not in set(configs)]


def ae_vs_vae(notebook, profile, dataset, axes, overrides=None, iw_samples=50, **fixed):
    """AE and VAE over the grid `axes` (e.g. {"d_z": [2, 10], "n_layers": [1, 2]}; `fixed`: other
    config fields) and the protocol's repeats, on the profile's protocol for `dataset` with
    `overrides`. Writes <tag>-runs.csv (with each VAE's importance-weighted bound `test_iw` from
    `iw_samples` samples; no bound when 0), <tag>-convergence.csv, the PCA check at every d_z and
    size (its linear AEs trained beside the grid where it has none: `linear_configs`), and
    Gaussian data's baselines."""
    used = protocol.load(profile, dataset, overrides)
    configs = grid_configs(used, dataset, axes, **fixed)
    data = load_dataset(dataset)
    results, linear = _trained(configs, linear_configs(configs))
    out = Outputs(profile, notebook, dataset)
    note(f"measuring {len(results)} model(s) on the test set")
    runs = tables.results_table(results)
    runs["test_recon_excess"] = runs["test_recon"] - floor_of(dataset, data)
    if iw_samples:
        runs["test_iw"] = [float(importance_weighted_bound(r.model, data.test_x, c.likelihood, iw_samples).mean())
                           if c.model == "vae" else np.nan for c, r in results.items()]
    if dataset_info(dataset).likelihood == "gaussian":
        runs["sigma"] = [scale_of(r.model) for r in results.values()]
    assert len(runs) == len(configs)
    assert runs[["test_recon", "test_bce", "test_mse", "test_loss"]].notna().all().all()
    out.table(runs, "runs")
    pca = out.table(convergence.pca_check({**results, **linear}), "pca_check")
    return Measured(notebook, dataset, profile, used, dict(axes), configs, data, results, runs,
                    tables.history_table(results), out.table(convergence.convergence_table(results), "convergence"),
                    out, pca_check=pca, baselines=_baselines(configs, data, used, out), fixed=fixed)


def _baselines(configs, data, used, out):
    """Gaussian data: the mean and the nearest training image of each repeat, scored on the test
    set as the models are (`baselines.reconstruction_baselines`); None for Bernoulli data."""
    if configs[0].likelihood == "bernoulli":
        return None
    first = {c.repeat: c for c in configs}
    train_sets = [data.train_x[config_split(first[r], len(data.train_x))[0]] for r in range(used["repeats"])]
    return out.table(baselines.reconstruction_baselines(train_sets, data.test_x, configs[0].likelihood), "baselines")


def beta_configs(used, dataset, betas, n_layers, d_z, figure_d_z=None):
    """(configs, figure configs) of `beta_grid`: the AE and a VAE per β at (`n_layers`, `d_z`) over
    the repeats of the protocol `used`; with `figure_d_z`, the same at that d_z, first repeat only."""
    check_betas(betas)
    betas = sorted(float(b) for b in betas)
    base = {"dataset": dataset, "n_layers": n_layers, **protocol.training_fields(used)}
    repeats = list(range(used["repeats"]))

    def grid(at, reps):
        return (experiments.grid(base, model=["vae"], beta=betas, d_z=[at], repeat=reps)
                + experiments.grid(base, model=[AE], d_z=[at], repeat=reps))
    return grid(d_z, repeats), [] if figure_d_z is None else grid(figure_d_z, repeats[:1])


def beta_grid(notebook, profile, dataset, betas, n_layers, d_z, figure_d_z=None, overrides=None):
    """The AE and a VAE per β in `betas` at (`n_layers`, `d_z`) over the protocol's repeats; with
    `figure_d_z`, the same models once more (the first repeat) at that d_z, for figures. Writes
    <tag>-convergence.csv and the PCA check at d_z (its linear AEs trained beside the grid,
    `linear_configs`); the runs table comes with `add_codes`."""
    used = protocol.load(profile, dataset, overrides)
    configs, figure_configs = beta_configs(used, dataset, betas, n_layers, d_z, figure_d_z)
    betas = sorted(float(b) for b in betas)
    data = load_dataset(dataset)
    linear = linear_configs(configs)
    results, extra = _trained(configs, figure_configs + linear)
    figure_results = {c: extra[c] for c in figure_configs}
    out = Outputs(profile, notebook, dataset)
    pca = out.table(convergence.pca_check({**results, **{c: extra[c] for c in linear}}), "pca_check")
    runs = tables.results_table(results)
    runs.insert(2, "arm", [arm_of(c) for c in results])
    per_model = convergence.convergence_table(results)
    per_model.insert(1, "arm", [arm_of(c) for c in results])
    return Measured(notebook, dataset, profile, used, {"beta": betas, "d_z": [d_z]}, configs, data, results, runs,
                    tables.history_table(results), out.table(per_model, "convergence"), out, pca_check=pca,
                    figure_results=figure_results, fixed={"n_layers": n_layers, "figure_d_z": figure_d_z})


def add_codes(m, k=50):
    """`m` with its codes measured per model on the test set: active units, code scale, posterior
    std, the importance-weighted bound L_k (VAEs) and, on labelled data, the clustering scores of
    the codes (`clusters`: one row per model and view, raw and active units standardised).
    Writes <tag>-runs.csv and <tag>-clusters.csv."""
    rows, clusters = [], []
    note(f"measuring the codes of {len(m.results)} model(s){' (clustering too)' if m.labelled else ''}")
    for config, result in m.results.items():
        means, stds = latents.posterior(result.model, m.data.test_x)
        row = latents.code_statistics(means, stds)
        if config.model == "vae":
            row["test_iw"] = float(importance_weighted_bound(result.model, m.data.test_x, config.likelihood, k).mean())
        rows.append(row)
        if m.labelled:
            train_idx = config_split(config, len(m.data.train_x))[0]
            for view, scores in latents.code_scores(result.model, m.data.train_x[train_idx],
                                                    m.data.train_y[train_idx], m.data.test_x, m.data.test_y,
                                                    seed=config.repeat).items():
                clusters.append({"arm": arm_of(config), "beta": config.beta if config.model == "vae" else np.nan,
                                 "repeat": config.repeat, "view": view, **scores})
    runs = m.out.table(pd.concat([m.runs, pd.DataFrame(rows)], axis=1), "runs")
    clusters = m.out.table(pd.DataFrame(clusters), "clusters") if m.labelled else None
    return replace(m, runs=runs, clusters=clusters)


def add_continuation(m):
    """`m` with the continuation check of every model (`convergence.continuation_check`: more
    epochs from the best one at a lower learning rate must not gain much, the median over the
    protocol's `continuation_streams` random streams, below the protocol's `continuation_max_gain`,
    read against the best epoch's selection effect where its `continuation_selection` says so) in
    `continuation`, and in its
    convergence table (rewritten, `convergence.with_continuation`): a model that fails is not
    converged, so its setting (or arm) is optimisation-limited and not counted."""
    epochs, streams = m.protocol["continuation_epochs"], m.protocol["continuation_streams"]
    selection = m.protocol["continuation_selection"]
    note(f"continuation check: every repeat of every setting, {epochs} epochs, {streams} stream(s)"
         + (", threshold less the best epoch's selection effect" if selection else ""))
    table = convergence.continuation_check(m.results, epochs=epochs, streams=streams,
                                           last=convergence.level_epochs(epochs), selection=selection,
                                           max_gain=m.protocol["continuation_max_gain"],
                                           max_members=experiments.default_stack_size())
    checked = convergence.with_continuation(m.convergence, table)
    return replace(m, continuation=table, convergence=m.out.table(checked, "convergence"))


def add_generation(m, extractor, real_features, n, reference, seed=0):
    """`m` with notebook 4's sample quality (`scores`, <tag>-generation.csv): every VAE from its
    own prior; as the control, the VAEs with β ≥ 1 (those claim 5 compares) and the AE from a
    10-component mixture fitted to their training codes; and the real-data `reference` (the real
    images' scores, <tag>-real_reference.csv)."""
    control = {c: r for c, r in m.results.items() if c.model == AE or c.beta >= 1}
    note(f"scoring {n} samples per model and sampler ({len(m.results)} models from their prior, "
         f"{len(control)} from a fitted mixture)")
    scores = pd.concat([
        generation.score_generation(m.results, extractor, real_features, n, seed=seed,
                                    samplers={"vae": ["prior"], "ae": []}),
        generation.score_generation(control, extractor, real_features, n, seed=seed,
                                    samplers={"vae": ["mixture"], "ae": ["mixture"]})], ignore_index=True)
    scores.insert(1, "arm", [arm(k, b) for k, b in zip(scores["model"], scores["beta"])])
    m.out.table(generation.reference_table(reference), "real_reference")
    return replace(m, scores=m.out.table(scores, "generation"), reference=dict(reference))


def original_protocol(m):
    """Gaussian data: the run's VAEs retrained with the study's fixed σ² = ½ (summed squared
    error), beside the learned-σ VAEs, per setting: test KL, MSE per pixel, σ and the effective
    β (<tag>-original_protocol.csv). Dividing the fixed-σ objective by 2σ̂² (σ̂² its own residual
    variance) gives a calibrated Gaussian's NLL with the KL weighted by β = 1 / (2σ̂²), so a small
    residual variance means a large β, and a collapsed posterior."""
    fixed = tables.results_table(experiments.run_all(original_protocol_configs(m.configs)))
    fixed["protocol"], fixed["sigma"] = "study: fixed σ² = ½", math.sqrt(0.5)
    fixed["effective_beta"] = 1 / (2 * fixed["test_mse"])
    learned = m.runs[m.runs["model"] == "vae"].assign(protocol="learned σ", effective_beta=1.0)
    both = m.out.table(pd.concat([learned, fixed], ignore_index=True), "original_protocol")
    shown = ["test_kl", "test_mse", "sigma", "effective_beta"]
    return tables.mean_std_table(stats.summarise(both, m.by + ["protocol"], shown), m.by + ["protocol"], shown)


def original_protocol_configs(configs):
    """The VAEs of `configs` with the study's fixed-σ² Gaussian likelihood (`original_protocol`)."""
    return [replace(c, likelihood="gaussian_fixed") for c in configs if c.model == "vae"]


def describe(m):
    """The run's design in words: models, repeats, data per repeat, stopping rule, metric."""
    p, n_all = m.protocol, len(m.data.train_x)
    if "n_train" in m.axes:
        per_repeat = ("at each size, its own disjoint block of that many training images, or, at "
                      f"n_train = None, all {n_all} in its own seeded order")
    else:
        per_repeat = (f"its own disjoint block of {p['n_train']} training images" if p["n_train"] else
                      f"all {n_all} training images in its own seeded order")
    if "beta" in m.axes:
        figure = m.fixed["figure_d_z"]
        return (f"{m.dataset}: the AE and a VAE at each β in {[f'{b:g}' for b in m.axes['beta']]} (β weighs the "
                f"KL against a reconstruction term summed over pixels, nats per image), n_layers = "
                f"{m.fixed['n_layers']}, d_z = {m.axes['d_z'][0]}, {len(m.repeats)} repeats, each on {per_repeat} "
                f"(10% validation){f'; at d_z = {figure} once more (first repeat, for figures)' if figure else ''}. "
                f"Early stopping on the validation β-objective (patience {p['patience']}, cap {p['max_epochs']}, "
                f"best epoch restored{annealing(p)}); batch {p['batch_size']}, Adam lr {p['lr']}.")
    grid = " × ".join(f"{len(v)} {k}" for k, v in m.axes.items())
    floor = m.floor
    floor = "" if math.isnan(floor) else f"; entropy floor of the test images: {floor:.1f} nats"
    return (f"{m.dataset}: {len(m.configs)} models ({len(m.repeats)} repeats × 2 models × {grid}). "
            f"Each repeat uses {per_repeat} (10% of them for validation). Training stops when the "
            f"validation loss has not fallen by {100 * p['min_delta']:g}% for {p['patience']} epochs "
            f"(cap {p['max_epochs']}), best epoch restored{annealing(p)}; batch {p['batch_size']}, Adam lr {p['lr']}. "
            f"Test set: all {len(m.data.test_x)} images, used once. Likelihood: {m.info.likelihood}; "
            f"primary metric: test_recon (nats per image); smallest effect that matters: "
            f"{m.min_effect} nats per image{floor}.")


def annealing(p):
    """Protocol `p`'s annealing phase in words ('' when it has none)."""
    return f"; then again from the best epoch at lr × {p['anneal']:g} under the same rule" if p.get("anneal") else ""


def training_time(m):
    """The training time of the run's models (figure-only models included), in words."""
    seconds = sum(r.train_seconds for r in [*m.results.values(), *m.figure_results.values()])
    return f"training time of these models: {seconds / 60:.1f} min"
