"""The show stage: a run's figures, each a function of its measured value (`measure.Measured`).

Every function builds one figure (or a pair) from the run's tables and models with
`vae_utils.study.figures` and saves it through the run's `Outputs` as <tag>-<name>.png (`key`: also in
the report), then shows it.
"""
import matplotlib.pyplot as plt
import numpy as np
import torch

from ..config.claims import AE, CLAIM_ID, SAMPLER_LABELS
from ..core.samplers import decode
from ..inference import stats
from ..metrics import latents
from . import figures, summaries
from .plotting import image_grid

NO_AE_REFERENCE = {"test_kl", "test_sampled_recon", "test_elbo"}   # undefined for an AE (no posterior)


def _where(table, where):
    for k, v in where.items():
        table = table[table[k] == v]
    return table


# -- AE against VAE over a grid (notebooks 2, 3 and 6) ------------------------------------------
def learning_curves(m, facet, name="learning_curves", title=None, **where):
    """Training and validation objective per epoch, evaluated alike, one panel per `facet` value."""
    fig = figures.learning_curves(_where(m.history, where), facet=facet)
    fig.suptitle(title or m.dataset, y=1.03)
    m.out.figure(fig, name)


def judged_gaps(rows, x, **where):
    """Claim 1's verdict rows (`rows`, a run's) at the settings `where`, as a gap table over `x`
    for `figures.paired_gaps`: what the judge decided on, not a second computation of it."""
    gaps = _where(rows[rows["claim_id"] == CLAIM_ID], where).rename(columns={"value": "gap"}).sort_values(x)
    return gaps.assign(**{x: [int(v) if float(v).is_integer() else v for v in gaps[x]]})


def gaps_and_metrics(m, rows, x, name="metrics", title=None, **where):
    """Claim 1's VAE − AE test_recon rows of the run (`rows`, its verdict rows) against axis `x`
    with their 95% intervals (a key figure), and the per-pixel test metrics of both models (means)
    beside it."""
    gaps = judged_gaps(rows, x, **where)
    m.out.figure(figures.paired_gaps(gaps, x, m.min_effect, "VAE − AE, nats per image",
                                     f"{title or m.dataset}: VAE − AE test reconstruction"), f"{name}-gap", key=True)
    m.out.figure(figures.metrics_vs(_where(m.runs, where), x, ["test_recon", "test_bce", "test_mse"],
                                    title=f"{title or m.dataset}: test reconstruction (means over repeats)"), name)


def reconstructions(m, settings, n_show, name="reconstructions", title=None):
    """The first `n_show` test images, then AE and VAE rows for each setting in `settings`."""
    rows = [(f"{kind.upper()} " + " ".join(f"{k}={v}" for k, v in s.items()), m.model(kind, **s))
            for s in settings for kind in ("ae", "vae")]
    fig = figures.reconstructions(rows, m.data.test_x[:n_show], m.data.image_shape)
    if title:
        fig.suptitle(title, y=1.02)
    m.out.figure(fig, name, key=True)


def latent_space(m, d_z, key=False, **setting):
    """Test codes of AE and VAE at `d_z` (PCA beyond 2-D); at d_z = 2 also the VAE's histograms."""
    models = {f"{kind.upper()}, d_z={d_z}": m.model(kind, d_z=d_z, **setting) for kind in ("ae", "vae")}
    m.out.figure(figures.latent_scatter(models, m.data.test_x, m.data.test_y, m.info.class_names),
                 f"latent-dz{d_z}", key=key and d_z == 2)
    if d_z == 2:
        m.out.figure(figures.latent_histograms(m.model("vae", d_z=2, **setting), m.data.test_x,
                                               title=f"{m.dataset}: VAE posterior means vs N(0, 1)"), "latent_hist-dz2")


# -- β-VAEs against the AE (notebook 4) ---------------------------------------------------------
def beta_axis(ax, betas, linear_below=1e-3):
    """β on a symmetric-log axis (linear below `linear_below`, so β = 0 has a place), from 0 up."""
    ax.set_xscale("symlog", linthresh=linear_below)
    ax.set_xlim(-0.3 * linear_below, 1.5 * max(betas))
    ax.set_xlabel("β")


def _arms(m, **setting):
    """(label, model) of the AE and of the VAE at every β, in order, at `setting` (first repeat)."""
    return ([("AE", m.model(AE, **setting))]
            + [(f"β={b:g}", m.model("vae", beta=b, **setting)) for b in m.axes["beta"]])


def rate_distortion(m):
    """Rate (test KL) against distortion (sampled test reconstruction) per β, means with 95%
    intervals over repeats; the AE's reconstruction (rate undefined) as a reference line."""
    summary = summaries.by_arm(m, ["test_kl", "test_sampled_recon", "test_recon"])
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
           ylabel="distortion: test E_q[−log p(x|z)] (nats per image)", title=f"{m.dataset}, d_z = {m.axes['d_z'][0]}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    m.out.figure(fig, "rate_distortion", key=True)


def metrics_vs_beta(m, metrics, name, view="active_standardised"):
    """Each metric against β (symmetric-log axis, β = 0 included): mean and 95% interval over
    repeats; the AE's mean and interval as a grey band."""
    summary = summaries.by_arm(m, metrics, view)
    vae, ae = summary[summary["arm"] != AE], summary[summary["arm"] == AE]
    beta = list(m.axes["beta"])
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * len(metrics), 3.1), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        ax.errorbar(beta, vae[f"{metric}_mean"], yerr=[vae[f"{metric}_mean"] - vae[f"{metric}_ci_low"],
                                                       vae[f"{metric}_ci_high"] - vae[f"{metric}_mean"]],
                    fmt="o-", capsize=3)
        if metric not in NO_AE_REFERENCE and not ae[f"{metric}_mean"].isna().all():
            ax.axhline(ae[f"{metric}_mean"].item(), color="grey", ls="--", lw=1, label="AE")
            ax.axhspan(ae[f"{metric}_ci_low"].item(), ae[f"{metric}_ci_high"].item(), color="grey", alpha=0.2)
        ax.axvline(1, color="C3", lw=0.6, ls=":")
        beta_axis(ax, beta)
        ax.set(title=metric.replace("test_", "test ").replace("_", " "))
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        axes[0][-1].legend(handles, labels, fontsize=8)
    fig.suptitle(f"{m.dataset}, d_z = {m.axes['d_z'][0]} (95% intervals over {len(m.repeats)} repeats)", y=1.02)
    fig.tight_layout()
    m.out.figure(fig, name, key=name == "clustering")


def latent_scatters(m):
    """The study's 2-D views: test codes at the figure d_z coloured by class, one panel per model."""
    at = m.fixed["figure_d_z"]
    models = dict(_arms(m, d_z=at))
    fig = figures.latent_scatter(models, m.data.test_x, m.data.test_y, m.info.class_names, ncols=5)
    fig.suptitle(f"{m.dataset}: test codes at d_z = {at} (first repeat)", y=1.01)
    m.out.figure(fig, f"latent-dz{at}", key=m.labelled)


def latent_histograms(m, shown):
    """Histograms of the posterior means at the figure d_z against the prior, one row per β in `shown`."""
    at = m.fixed["figure_d_z"]
    models = {f"β={b:g}": m.model("vae", d_z=at, beta=b) for b in shown}
    m.out.figure(figures.latent_histograms(models, m.data.test_x, title=f"{m.dataset}: posterior means (test) "
                                           f"against the prior N(0, 1)"), f"latent_hist-dz{at}")


@torch.no_grad()
def reconstructions_and_samples(m, n_show, seed=0):
    """Reconstructions of the first test images per model, and 32 prior samples per β."""
    d_z, betas = m.axes["d_z"][0], m.axes["beta"]
    rows = _arms(m)
    fig = figures.reconstructions(rows, m.data.test_x[:n_show], m.data.image_shape)
    fig.suptitle(f"{m.dataset}, d_z = {d_z}: reconstructions (posterior means)", y=1.01)
    m.out.figure(fig, "reconstructions")
    fig, axes = plt.subplots(1, len(betas), figsize=(2.2 * len(betas), 4.4))
    for ax, b in zip(np.atleast_1d(axes), betas):
        model = m.model("vae", beta=b)
        codes = model.sample_prior(32, torch.Generator().manual_seed(seed))
        image_grid(decode(model, codes), m.data.image_shape, 4, ax=ax, title=f"β={b:g}")
    fig.suptitle(f"{m.dataset}, d_z = {d_z}: samples from the prior", y=1.0)
    fig.tight_layout()
    m.out.figure(fig, "prior_samples", key=True)


@torch.no_grad()
def traversals(m, shown, steps=9, span=3.0):
    """Latent traversals at the main d_z: from the posterior mean of the first test image, each
    unit swept over ±`span` prior standard deviations; rows ordered by KL per unit (largest first)."""
    d_z = m.axes["d_z"][0]
    fig, axes = plt.subplots(1, len(shown), figsize=(2.6 * len(shown), 0.3 * d_z + 1.2))
    for ax, b in zip(np.atleast_1d(axes), shown):
        model = m.model("vae", beta=b)
        means, stds = latents.posterior(model, m.data.test_x)
        kl = latents.kl_per_unit(means, stds, model.prior_mean.numpy(), model.prior_std.numpy())
        start = torch.as_tensor(means[0])
        offsets = torch.linspace(-span, span, steps)
        codes = []
        for j in np.argsort(-kl):
            row = start.repeat(steps, 1)
            row[:, j] = model.prior_mean[j] + offsets * model.prior_std[j]
            codes.append(row)
        image_grid(decode(model, torch.cat(codes)), m.data.image_shape, steps, ax=ax,
                   title=f"β={b:g}: KL/unit {' '.join(f'{v:.1f}' for v in np.sort(kl)[::-1][:3])}…")
    fig.suptitle(f"{m.dataset}, d_z = {d_z}: each unit swept over ±{span:g} prior std "
                 f"(rows: units by KL, largest first)", y=1.02)
    fig.tight_layout()
    m.out.figure(fig, "traversals")


def generation_figure(m, metric="frechet"):
    """`metric` of the generated images against β, one line per sampler (95% intervals over
    repeats; log scale for the Fréchet distance); the AE with the fitted mixture as a band."""
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for i, (sampler, part) in enumerate(m.scores.groupby("sampler", sort=False)):
        summary = stats.summarise(part, ["model", "beta"], [metric])
        vae, ae = summary[summary["model"] == "vae"], summary[summary["model"] == AE]
        label = SAMPLER_LABELS[sampler]
        mean = vae[f"{metric}_mean"]
        ax.errorbar(vae["beta"], mean, yerr=[mean - vae[f"{metric}_ci_low"], vae[f"{metric}_ci_high"] - mean],
                    fmt="o-", capsize=3, color=f"C{i}", label=f"β-VAE, {label}")
        if len(ae):
            ax.axhline(ae[f"{metric}_mean"].item(), color=f"C{i}", ls="--", lw=1, label=f"AE, {label}")
            ax.axhspan(ae[f"{metric}_ci_low"].item(), ae[f"{metric}_ci_high"].item(), color=f"C{i}", alpha=0.15)
    beta_axis(ax, m.scores["beta"])
    if metric == "frechet":
        ax.set_yscale("log")
    ax.set(xlabel="β", ylabel=metric, title=f"{m.dataset}, d_z = {m.axes['d_z'][0]}: generated images "
                                           f"(lower is better)" if metric == "frechet" else m.dataset)
    ax.legend(fontsize=8)
    fig.tight_layout()
    m.out.figure(fig, f"generation-{metric}", key=True)
