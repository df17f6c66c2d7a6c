"""Does the answer depend on how much data the models see? Notebook 6's measurements and verdicts.

Its run (`measure.ae_vs_vae` over an `n_train` axis) trains AE and VAE at several
training-set sizes; this module adds what only this question needs: each model's reconstruction
of its own training images (and so its generalisation gap), the claim-4 clustering scores of the
same models, the claim-1 and claim-4 verdict rows at every size, and whether each gap changes
between the smallest and the largest size.
"""
from dataclasses import replace

import pandas as pd

from ..config import notebooks, rules
from ..config.claims import SIZE, VIEW
from ..config.runspec import own_size, shared_metrics, whole_size
from ..core.data import VAL_FRACTION, config_split, images_per_repeat
from ..engine.progress import note
from ..engine.training import evaluate
from ..inference import stats
from ..metrics import latents
from . import generation, judge

DATASETS = notebooks.by_tag("data_size").datasets
TRAIN_EVAL_IMAGES = 5000        # training images per model on which its training reconstruction is measured


def check_grid(dataset, sizes):
    """ValueError naming a dataset or a size list the notebook cannot use, before any training."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset={dataset!r} is not allowed here; allowed: {', '.join(DATASETS)} "
                         f"(labelled, for claim 4)")
    problem = rules.sizes_problem(sizes)
    if problem:
        raise ValueError(f"n_train_list={sizes!r} is not allowed; {problem}")


def add_training_reconstruction(m):
    """The measured run `m` with, in its runs table (rewritten): `train_recon`, the reconstruction term at the
    posterior mean of the first TRAIN_EVAL_IMAGES of each model's own training images;
    `generalisation_gap` = test_recon − train_recon (nats per image; positive: worse on unseen
    images); and the clustering scores of the codes in view VIEW (`latents.code_scores`), with
    k-means and the probes fitted on as many training codes at every size as the smallest size
    has (so that a larger size does not score better only by fitting on more codes)."""
    data, rows = m.data, []
    fitted = int(round(min(m.runs[SIZE]) * (1 - VAL_FRACTION)))
    for config, result in m.results.items():
        train_idx = config_split(config, len(data.train_x))[0]
        seen, fit = train_idx[:TRAIN_EVAL_IMAGES], train_idx[:fitted]
        scores = latents.code_scores(result.model, data.train_x[fit], data.train_y[fit], data.test_x,
                                     data.test_y, seed=config.repeat, only=(VIEW,))[VIEW]
        rows.append({"train_recon": evaluate(result.model, data.train_x[seen], config.likelihood)["recon"], **scores})
    added = pd.DataFrame(rows)
    runs = pd.concat([m.runs.drop(columns=[c for c in added if c in m.runs]), added], axis=1)
    runs["generalisation_gap"] = runs["test_recon"] - runs["train_recon"]
    return replace(m, runs=m.out.table(runs, "runs"))


def _judged(m, nmi_min_effect):
    return dict(notebook=m.notebook, dataset=m.dataset, min_effect=m.min_effect, alpha=m.alpha,
                nmi_min_effect=nmi_min_effect, whole=whole_size(m.dataset), pca_check=m.pca_check)


def claim_rows(m, nmi_min_effect):
    """Claim 1 and claim 4 at every size and d_z (`judge.size_claims`) from the run's tables."""
    return judge.size_claims(m.runs, m.convergence, own_size=own_size(m.protocol, m.dataset),
                             shared=shared_metrics(m.profile, m.dataset, m.protocol),
                             **_judged(m, nmi_min_effect))


def change_rows(m, nmi_min_effect):
    """Per claim and d_z, whether the gap changes between the smallest and the largest size
    (`judge.size_changes`), from the run's tables."""
    return judge.size_changes(m.runs, m.convergence, **_judged(m, nmi_min_effect))


def scored_sizes(sizes):
    """The training-set sizes whose models' samples are scored (claim 2): the smallest and the
    largest (the whole training set, in the default profile)."""
    sizes = sorted(sizes)
    return list(dict.fromkeys([sizes[0], sizes[-1]]))


def add_generation(m, n_samples, classifier_epochs, classifier_n_train, min_accuracy):
    """`m` with claim 2 measured as notebook 5 measures it (`generation.score_generation`: every
    sampler of both models, on the classifier's features against the real test images) for the
    models of the smallest and the largest size (`scored_sizes`): `scores` (<tag>-scores.csv, with
    a SIZE column) and the real-data `reference` (<tag>-real_reference.csv). Returns (`m`, the
    classifier's test accuracy). No model is trained."""
    seed = m.protocol["seed"]
    classifier, accuracy, real_features, ceiling = generation.classifier_reference(
        m.dataset, n_samples, seed, classifier_epochs, classifier_n_train, min_accuracy)
    parts = []
    for size in scored_sizes(m.runs[SIZE].unique()):
        models = {c: r for c, r in m.results.items() if images_per_repeat(c) == size}
        note(f"scoring {n_samples} samples per model and sampler of the {len(models)} models at {size} images")
        parts.append(generation.score_generation(models, classifier, real_features, n_samples, seed=seed)
                     .assign(**{SIZE: size}))
    scores = m.out.table(pd.concat(parts, ignore_index=True), "scores")
    m.out.table(generation.reference_table(ceiling), "real_reference")
    return replace(m, scores=scores, reference=ceiling), accuracy


def generation_rows(m, min_frechet_effect):
    """Claim 2 at the sizes scored (`judge.size_generation`)."""
    return judge.size_generation(m.scores, m.convergence, notebook=m.notebook, dataset=m.dataset,
                                 min_effect=min_frechet_effect, alpha=m.alpha, own_size=own_size(m.protocol, m.dataset),
                                 whole=whole_size(m.dataset), reference=m.reference,
                                 shared=shared_metrics(m.profile, m.dataset, m.protocol), pca_check=m.pca_check)


def verdict_rows(m, nmi_min_effect, min_frechet_effect=None):
    """The run's verdict rows: `claim_rows`, `change_rows` and, when samples were scored,
    `generation_rows`, adjusted in their families (`families.adjust`: a claim's rows at every
    size and its change rows share its part)."""
    parts = [claim_rows(m, nmi_min_effect), change_rows(m, nmi_min_effect)]
    if m.scores is not None:
        parts.append(generation_rows(m, min_frechet_effect))
    rows = pd.concat(parts, ignore_index=True)
    return judge.decided(rows, m.sibling_tests, m.protocol, m.dataset)


def gaps_by_size(m, metric, margin):
    """The paired VAE − AE gap of `metric` per size and d_z, with its interval (for the figures)."""
    return stats.paired_gap(m.runs, [SIZE, "d_z"], metric, margin)
