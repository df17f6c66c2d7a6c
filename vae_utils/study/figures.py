"""The study's figures, shared by the notebooks (each returns a matplotlib Figure)."""
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from scipy import stats
from sklearn.decomposition import PCA

from ..config.claims import SAMPLER_LABELS
from ..core.samplers import decode
from ..inference.stats import t_band, unit_band
from .generation import BOUNDED, generate
from .plotting import image_grid

MODEL_NAMES = {"ae": "AE", "vae": "VAE"}


def learning_curves(history, facet, loss="loss"):
    """`loss` (the training objective by default) per epoch on a fixed training subset and on the
    validation set, both evaluated the same way after the epoch (a VAE with one sample), mean
    with a 95% t-band over repeats, one panel per `facet` value. Early-stopped repeats end early."""
    values = sorted(history[facet].unique())
    fig, axes = plt.subplots(1, len(values), figsize=(3.2 * len(values), 3.2), squeeze=False)
    for ax, value in zip(axes[0], values):
        part = history[history[facet] == value]
        long = part.melt(id_vars=["epoch", "model", "repeat"], value_vars=[f"train_eval_{loss}", f"val_{loss}"],
                         var_name="split", value_name=loss)
        long["split"] = long["split"].map({f"train_eval_{loss}": "train", f"val_{loss}": "validation"})
        long["model"] = long["model"].map(MODEL_NAMES)
        sns.lineplot(data=long, x="epoch", y=loss, hue="model", style="split", errorbar=t_band,
                     ax=ax, legend=ax is axes[0][-1])
        ax.set_title(f"{facet} = {value}")
    axes[0][0].set_ylabel(f"{loss} (nats per image)")
    if axes[0][-1].get_legend():
        sns.move_legend(axes[0][-1], "upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return fig


def paired_gaps(gaps, x, min_effect, ylabel, title=None):
    """The paired VAE − AE difference against `x` with its 95% interval (what the verdicts test),
    zero and the declared smallest effect that matters (±min_effect) drawn as reference lines."""
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    positions = np.arange(len(gaps))
    ax.errorbar(positions, gaps["gap"], yerr=[gaps["gap"] - gaps["ci_low"], gaps["ci_high"] - gaps["gap"]],
                fmt="o-", capsize=4, color="C3")
    ax.axhline(0, color="k", lw=0.8)
    for sign in (-1, 1):
        ax.axhline(sign * min_effect, color="grey", ls="--", lw=0.8)
    ax.set(xticks=positions, xticklabels=[str(v) for v in gaps[x]], xlabel=x, ylabel=ylabel)
    ax.set_title(title or "VAE − AE, paired by repeat (95% CI)", fontsize=10)
    fig.tight_layout()
    return fig


def metrics_vs(table, x, metrics, hue="model", title=None):
    """Test metrics against `x`, AE and VAE side by side: means over repeats (no marginal
    intervals: the comparison is paired, see `paired_gaps`)."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.2), squeeze=False)
    data = table.assign(model=table["model"].map(MODEL_NAMES))
    for ax, metric in zip(axes[0], metrics):
        sns.pointplot(data=data, x=x, y=metric, hue=hue, errorbar=None, dodge=0.3,
                      ax=ax, legend=ax is axes[0][0], linestyles="-", markers="o")
        ax.set_title(metric.replace("test_", "test ").replace("_", " "))
        ax.set_ylabel("")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@torch.no_grad()
def reconstructions(rows, x, image_shape):
    """Grid: the originals on top, then one row per (label, model) in `rows` (VAE at its posterior mean)."""
    fig, axes = plt.subplots(len(rows) + 1, 1, figsize=(0.6 * len(x) + 1.5, 0.75 * (len(rows) + 1) + 0.3))
    image_grid(x, image_shape, len(x), ax=axes[0])
    axes[0].set_title("original", fontsize=9, loc="left")
    for ax, (label, model) in zip(axes[1:], rows):
        image_grid(torch.sigmoid(model(x, sample=False).logits), image_shape, len(x), ax=ax)
        ax.set_title(label, fontsize=9, loc="left")
    fig.tight_layout()
    return fig


@torch.no_grad()
def latent_scatter(models, x, y, class_names=None, max_points=5000, ncols=None):
    """Test-set codes (VAE: posterior means) in 2-D, coloured by class; PCA when d_z > 2.
    One panel per model, `ncols` to a row (default: all in one row)."""
    x, y = x[:max_points], None if y is None else y[:max_points].numpy()
    ncols = min(ncols or len(models), len(models))
    nrows = -(-len(models) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 4 * nrows), squeeze=False)
    for ax in axes.flat[len(models):]:
        ax.set_axis_off()
    for ax, (label, model) in zip(axes.flat, models.items()):
        z = model.encode(x).numpy()
        labels = ["z[0]", "z[1]"]
        if z.shape[1] > 2:
            pca = PCA(n_components=2).fit(z)
            z = pca.transform(z)
            labels = [f"PC {i + 1} of the code ({100 * r:.0f}% of variance)"
                      for i, r in enumerate(pca.explained_variance_ratio_)]
        colour = {} if y is None else {"c": y, "cmap": "tab10"}     # unlabelled data: one colour
        scatter = ax.scatter(z[:, 0], z[:, 1], s=2, alpha=0.6, rasterized=True, **colour)
        ax.set(title=label, xlabel=labels[0], ylabel=labels[1])
    if y is not None:
        handles = scatter.legend_elements()[0]
        names = class_names or [str(i) for i in range(len(handles))]
        fig.legend(handles, names, loc="center right", fontsize=8, markerscale=1)
        fig.tight_layout(rect=(0, 0, 0.9, 1))
    else:
        fig.tight_layout()
    return fig


@torch.no_grad()
def latent_histograms(vaes, x, title=None):
    """Histogram of each coordinate of a VAE's posterior means, with the prior density on top;
    `vaes`: one VAE, or {label: VAE} for one row each."""
    vaes = vaes if isinstance(vaes, dict) else {"": vaes}
    d_z = next(iter(vaes.values())).d_z
    fig, axes = plt.subplots(len(vaes), d_z, figsize=(3.4 * d_z, 2.8 * len(vaes)), squeeze=False)
    for row, (label, vae) in zip(axes, vaes.items()):
        z = vae.encode(x).numpy()
        mean, std = vae.prior_mean.numpy(), vae.prior_std.numpy()
        for j, ax in enumerate(row):
            ax.hist(z[:, j], bins=60, density=True, alpha=0.6, label="posterior means (test)")
            grid = np.linspace(min(z[:, j].min(), mean[j] - 4 * std[j]), max(z[:, j].max(), mean[j] + 4 * std[j]), 200)
            ax.plot(grid, stats.norm.pdf(grid, mean[j], std[j]), "k-", label="prior")
            ax.set(title=f"{label}{', ' if label else ''}z[{j}]", yticks=[])
    axes[0][-1].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def generation_metrics(scores, ceiling, metrics=("frechet", "precision", "recall", "density", "coverage"), x="d_z"):
    """Sample-quality metrics against `x` (d_z, or the training-set size), one panel each, per model
    and sampler (mean with a 95% band over repeats: t for unbounded metrics, a clipped one for
    shares), the real images dotted."""
    plot = scores.assign(method=scores["model"].str.upper() + ", " + scores["sampler"].map(SAMPLER_LABELS))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.8))
    for ax, m in zip(axes, metrics):
        band = unit_band if m in BOUNDED else t_band
        sns.pointplot(data=plot, x=x, y=m, hue="method", errorbar=band, dodge=0.4, capsize=0.1,
                      palette="colorblind", markers=["o", "s", "^", "D", "v", "P"], ax=ax, legend=ax is axes[-1])
        ax.axhline(ceiling[m], color="k", ls=":", lw=1)
        if m == "frechet":
            ax.set_yscale("log")
        ax.set_title(f"{m}{' (log scale)' if m == 'frechet' else ''}\ndotted: real images", fontsize=10)
    sns.move_legend(axes[-1], "upper left", bbox_to_anchor=(1, 1), fontsize=8)
    fig.tight_layout()
    return fig


def sample_grids(rows, image_shape, title=None, n=64, seed=0):
    """`n` samples per (label, result, sampler) in `rows`, three panels a row (AE's samplers, then the VAE's)."""
    fig, axes = plt.subplots(-(-len(rows) // 3), 3, figsize=(12, 4.6 * -(-len(rows) // 3)), squeeze=False)
    for ax in axes.flat[len(rows):]:
        ax.set_visible(False)
    for ax, (label, result, sampler) in zip(axes.flat, rows):
        image_grid(generate(result, sampler, n, seed), image_shape, 8, ax=ax, title=label)
    if title:
        fig.suptitle(title)
    fig.tight_layout(h_pad=2.0)          # room for the second row's titles
    return fig


def decoded_manifold(models, x, image_shape, span=3.0, steps=15):
    """Each 2-D model's decoder over a regular grid of [−span, span]², titled with the range its
    codes of `x` actually cover."""
    ticks = torch.linspace(-span, span, steps)
    codes = torch.cartesian_prod(ticks, ticks.flip(0))[:, [0, 1]]
    fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 6.3))
    for ax, (label, model) in zip(np.atleast_1d(axes), models.items()):
        z = model.encode(x).detach()
        lo, hi = z.min(0).values.numpy(), z.max(0).values.numpy()
        image_grid(decode(model, codes), image_shape, steps, ax=ax,
                   title=f"{label}: test codes span [{lo[0]:.1f}, {hi[0]:.1f}] × [{lo[1]:.1f}, {hi[1]:.1f}]")
    return fig


def interpolations(models, x, image_shape, pairs=((0, 1), (2, 3), (4, 5), (6, 7)), steps=10):
    """Straight lines in code space between pairs of images of `x`, decoded in `steps` steps."""
    t = torch.linspace(0, 1, steps)[:, None]
    fig, axes = plt.subplots(len(models), 1, figsize=(8, 3.75 * len(models)))
    for ax, (label, model) in zip(np.atleast_1d(axes), models.items()):
        z = model.encode(x[:2 * len(pairs)]).detach()
        path = torch.cat([(1 - t) * z[a] + t * z[b] for a, b in pairs])
        image_grid(decode(model, path), image_shape, steps, ax=ax, title=label)
    return fig


def prior_samples(model, image_shape, own_title, n=64, seed=0):
    """`n` decoded samples of the model's own prior beside `n` from N(0, I), from one generator."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.2))
    g = torch.Generator().manual_seed(seed)
    image_grid(decode(model, model.sample_prior(n, g)), image_shape, 8, ax=axes[0], title=own_title)
    image_grid(decode(model, torch.randn(n, model.d_z, generator=g)), image_shape, 8, ax=axes[1],
               title="wrong prior N(0, I)")
    return fig


def gaps_against_size(gaps, min_effect, ylabel, title):
    """A paired gap per training-set size (log axis) with its 95% interval, one line per d_z;
    zero and ±`min_effect` as reference lines."""
    fig, ax = plt.subplots(figsize=(4.8, 3.3))
    for i, (d_z, part) in enumerate(gaps.groupby("d_z")):
        part = part.sort_values("train_images")
        x = part["train_images"] * (1 + 0.03 * i)          # side by side, not on top of each other
        ax.errorbar(x, part["gap"], yerr=[part["gap"] - part["ci_low"], part["ci_high"] - part["gap"]],
                    fmt="o-", capsize=4, label=f"d_z = {d_z}")
    ax.axhline(0, color="k", lw=0.8)
    for sign in (-1, 1):
        ax.axhline(sign * min_effect, color="grey", ls="--", lw=0.8)
    sizes = sorted(gaps["train_images"].unique())
    ax.set_xscale("log")
    ax.set(xticks=sizes, xticklabels=[f"{int(s):,}" for s in sizes], xlabel="training images per repeat",
           ylabel=ylabel)
    ax.minorticks_off()
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def metric_against_size(runs, metric, ylabel, title):
    """`metric` of AE and VAE per training-set size (log axis): means with 95% t-bands over
    repeats, one line style per d_z."""
    fig, ax = plt.subplots(figsize=(4.8, 3.3))
    data = runs.assign(model=runs["model"].map(MODEL_NAMES), d_z=runs["d_z"].map(lambda d: f"d_z = {d}"))
    sns.lineplot(data=data, x="train_images", y=metric, hue="model", style="d_z", markers=True,
                 errorbar=t_band, err_style="bars", ax=ax)
    sizes = sorted(runs["train_images"].unique())
    ax.set_xscale("log")
    ax.set(xticks=sizes, xticklabels=[f"{int(s):,}" for s in sizes], xlabel="training images per repeat",
           ylabel=ylabel)
    ax.minorticks_off()
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1, 1), fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
