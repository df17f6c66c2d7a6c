"""The training plan (`vae_utils.study.plan`) against what every committed run actually trained:
each model of a run's convergence table is planned, and the plan holds no model of the run's main
grid that the table lacks."""
import pandas as pd
import pytest

from vae_utils.config import runspec
from vae_utils.config.paths import output_dir
from vae_utils.config.runspec import tag_of
from vae_utils.core.data import images_per_repeat
from vae_utils.study import plan

RUNS = [r for r in runspec.runs_of("default") if not r.startswith("01_")]
KEY = ["model", "n_layers", "d_z", "beta", "repeat", "train_images"]


def _key(config):
    return (config.model, config.n_layers, config.d_z, float(config.beta), config.repeat, images_per_repeat(config))


def _extra(config, spec):
    """Whether `config` is a planned model that a run's convergence table does not list: the
    fixed-σ² VAEs (notebook 2), the prior-comparison VAEs at d_z = 2 (notebook 5), the
    figure-only models at figure_d_z (notebook 4, first repeat) and the PCA check's linear AEs
    beside a grid without 1-layer models (notebooks 3 to 6)."""
    if config.likelihood == "gaussian_fixed" or config.prior_mean is not None:
        return True
    if config.n_layers == 1 and spec.notebook_name[:2] in ("03", "04", "05", "06"):
        return True
    if spec.notebook_name.startswith("05_") and config.model == "vae" and config.d_z == 2:
        return 2 not in spec.value("d_z_list")
    figure = spec.value("figure_d_z") if spec.notebook_name.startswith("04_") else None
    return figure is not None and config.d_z == figure and config.repeat == 0


@pytest.mark.parametrize("run", RUNS)
def test_the_plan_of_every_committed_run_is_what_it_trained(run):
    spec = runspec.resolve("default", run)
    table = pd.read_csv(output_dir("default", "tables") / f"{tag_of(spec.notebook_name, spec.dataset)}-convergence.csv")
    trained = {(r.model, r.n_layers, r.d_z, float(r.beta), r.repeat, r.train_images)
               for r in table[KEY].itertuples(index=False)}
    configs, classifiers = plan.needs(spec)
    main = {_key(c) for c in configs if not _extra(c, spec)}
    assert main == trained, (sorted(main - trained)[:3], sorted(trained - main)[:3])
    scores = (spec.notebook_name.startswith("05_")
              or (spec.notebook_name.startswith("04_") and "generates" in spec.value("claims"))
              or (spec.notebook_name.startswith("06_") and spec.value("generation")))
    assert len(classifiers) == int(scores and spec.dataset != "frey_face")


def test_a_model_two_runs_share_is_planned_once():
    configs, _ = plan.profile_needs("default", ["02_ae_vs_vae_depth--mnist", "03_ae_vs_vae_latent_dim--mnist"])
    depth, _ = plan.needs(runspec.resolve("default", "02_ae_vs_vae_depth--mnist"))
    latent, _ = plan.needs(runspec.resolve("default", "03_ae_vs_vae_latent_dim--mnist"))
    shared = set(depth) & set(latent)
    assert shared and len(configs) == len(set(depth) | set(latent)) == len(depth) + len(latent) - len(shared)


def test_every_notebook_that_writes_runs_has_a_plan():
    from vae_utils.config import notebooks
    assert set(plan.PLANNERS) == {nb.tag for nb in notebooks.JUDGED.values()}
    assert plan.needs(runspec.resolve("default", "01_theory")) == ([], [])        # trains nothing
