"""Summaries of a measured run (`measure.Measured`) over its repeats: per setting and model (AE
against VAE grids) or per arm (β grids), written through the run's `Outputs` when named."""
from ..config.claims import AE, VIEW, arm
from ..inference import stats
from . import judge, tables

SHOWN = ["test_recon", "test_recon_excess", "train_recon", "generalisation_gap", "test_bce", "test_mse", "test_kl",
         "test_elbo", "test_iw", "sigma", "nmi", "probe_accuracy", "epochs_run", "parameters", "train_seconds"]
CLUSTER_METRICS = ["nmi", "ari", "kmeans_accuracy", "probe_accuracy", "knn_accuracy", "silhouette"]
GENERATION_METRICS = ["frechet", "kid", "precision", "recall", "density", "coverage", "class_coverage"]
POSITION_METRICS = ("test_recon", "active_units", "code_rms", "nmi")


def convergence(m):
    """Per setting and model (`judge.convergence_by_setting`), or per arm of a β grid: epochs run,
    best epoch, models at the cap, the largest final gain and how many repeats converged."""
    if "arm" not in m.convergence:
        return judge.convergence_by_setting(m.convergence, m.by)
    return m.convergence.groupby("arm", sort=False).agg(
        epochs_run=("epochs_run", "mean"), best_epoch=("best_epoch", "mean"), hit_cap=("hit_cap", "sum"),
        final_gain_max=("final_gain", "max"), converged=("converged", "sum")).reset_index()


def by_setting(m):
    """Mean ± std over repeats per setting and model (also written as <tag>-summary.csv)."""
    by = m.by + ["model"]
    shown = [c for c in SHOWN if c in m.runs]
    summary = m.out.table(stats.summarise(m.runs, by, shown), "summary")
    return tables.mean_std_table(summary, by, shown)


def baselines(m):
    """Gaussian data's baselines (`measure.Measured.baselines`) as mean ± std over repeats (None
    for Bernoulli data); their NLL takes the σ that is best on the test set (σ² = their test
    MSE), which flatters them."""
    if m.baselines is None:
        return None
    return m.baselines.groupby("baseline", sort=False)[["test_mse", "test_recon"]].agg(["mean", "std"])


def by_arm(m, metrics, view=VIEW, name=None):
    """Mean, std and 95% interval over repeats per arm of a β grid (AE first, then β ascending),
    with the clustering scores of `view`; with `name`, also written as <tag>-<name>.csv."""
    table = judge.with_codes(m.runs, m.clusters, view)
    shown = [c for c in metrics if c in table]
    summary = stats.summarise(table, ["arm"], shown)
    order = {a: i for i, a in enumerate([AE] + [arm("vae", b) for b in m.axes["beta"]])}
    summary = summary.sort_values("arm", key=lambda s: s.map(order)).reset_index(drop=True)
    return m.out.table(summary, name) if name else summary


def clustering(m, metrics=CLUSTER_METRICS, views=(VIEW, "raw")):
    """Per view of the codes: the clustering scores as mean ± std per arm (written as
    <tag>-clustering-<view>.csv)."""
    return {view: tables.mean_std_table(by_arm(m, metrics, view, name=f"clustering-{view}"), ["arm"],
                                        metrics, digits=3) for view in views}


def position(m, metrics=POSITION_METRICS, view=VIEW):
    """Where each β sits between the AE (0) and the plain VAE (1), per metric, from the means over
    repeats: p(β) = (m(β) − m_AE) / (m_VAE − m_AE) (written as <tag>-position.csv)."""
    table = judge.with_codes(m.runs, m.clusters, view)
    means = table.groupby("arm")[[c for c in metrics if c in table]].mean()
    spread = means.loc[arm("vae", 1)] - means.loc[AE]
    placed = (means - means.loc[AE]) / spread.where(spread != 0)    # undefined (NaN) where AE = VAE
    placed = placed.drop(index=AE).loc[[arm("vae", b) for b in m.axes["beta"]]]
    return m.out.table(placed, "position", index=True)


def generation(m, metrics=GENERATION_METRICS):
    """Notebook 4's generation scores as mean ± std per sampler, model and β (the metrics defined
    here; written as <tag>-generation-summary.csv)."""
    shown = [c for c in metrics if c in m.scores and m.scores[c].notna().any()]
    summary = m.out.table(stats.summarise(m.scores, ["sampler", "model", "beta"], shown), "generation-summary")
    return tables.mean_std_table(summary, ["sampler", "model", "beta"], shown)
