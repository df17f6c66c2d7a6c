"""Scoring generated images: sample codes, decode, embed with the classifier, compare with real images."""
from dataclasses import asdict

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA

from ..config.claims import SAMPLERS_FOR
from ..core.data import config_split, dataset_info, load_dataset
from ..core.samplers import decode, sample_codes
from ..engine import experiments
from ..inference import stats
from ..metrics.classifier import embed_and_predict, train_classifier
from ..metrics.sample_quality import RealManifold, sample_metrics
from . import tables
from .judge.generation import low_recall

BOUNDED = ("precision", "recall", "coverage", "class_coverage")   # shares in [0, 1]; density may exceed 1

def training_images(config):
    """The images `config`'s model was trained on (its repeat's training part)."""
    data = load_dataset(config.dataset)
    train_idx, _ = config_split(config, len(data.train_x))
    return data.train_x[train_idx]


def generate(result, sampler, n, seed=0):
    """`n` mean images decoded from `sampler`'s codes for a trained model."""
    fitted = sampler in ("gaussian", "mixture")
    codes = sample_codes(result.model, sampler, n, seed=seed,
                         train_x=training_images(result.config) if fitted else None)
    return decode(result.model, codes)


class PixelFeatures:
    """The feature extractor for unlabelled data (Frey Face), where no classifier exists: the
    first `n_components` principal components of the pixels, fitted on the training images."""

    def __init__(self, train_x, n_components=50, seed=0):
        self.pca = PCA(n_components=n_components, random_state=seed).fit(np.asarray(train_x))

    def __call__(self, x):
        return self.pca.transform(np.asarray(x)), None


def features_of(extractor, x):
    """Features of images `x`, and their predicted classes (None without a classifier)."""
    if isinstance(extractor, PixelFeatures):
        return extractor(x)
    features, predictions = embed_and_predict(extractor, x)
    return features.numpy(), predictions.numpy()


def real_reference(extractor, dataset, n, seed=0):
    """Features of the test set, and the metrics of `n` real training images against it (the ceiling)."""
    data = load_dataset(dataset)
    test_features, _ = features_of(extractor, data.test_x)
    pick = torch.randperm(len(data.train_x), generator=torch.Generator().manual_seed(seed))[:n]
    train_features, train_pred = features_of(extractor, data.train_x[pick])
    ceiling = sample_metrics(test_features, train_features, train_pred, manifold=RealManifold(test_features, n, seed))
    return test_features, ceiling


def reference_table(reference):
    """The real-data reference (the metrics of real images against the test set) as a one-row table."""
    return pd.DataFrame([{"model": "real", "sampler": "real images", **reference}])


def score_generation(results, extractor, real_features, n, samplers=None, seed=0):
    """One row per (model, sampler): config columns plus the `sample_metrics` of `n` generated
    images. `extractor`: the dataset's classifier, or `PixelFeatures` for unlabelled data."""
    rows, manifold = [], RealManifold(real_features, n, seed)      # n real images, radii computed once
    for config, result in results.items():
        for sampler in (samplers or SAMPLERS_FOR)[config.model]:
            features, predictions = features_of(extractor, generate(result, sampler, n, seed))
            scores = sample_metrics(real_features, features, predictions, manifold=manifold,
                                    n_classes=len(dataset_info(config.dataset).class_names or [None]))
            rows.append({"model": config.model, "d_z": config.d_z, "beta": config.beta, "repeat": config.repeat,
                         "sampler": sampler, **scores})
    return pd.DataFrame(rows)


METRICS = ["frechet", "kid", "precision", "recall", "density", "coverage", "class_coverage", "class_entropy"]


def classifier_reference(dataset, n, seed=0, epochs=6, n_train=None, min_accuracy=0.0):
    """The dataset's classifier (trained once, cached) and the real-image reference of `n`
    training images against the test set: (classifier, accuracy, test features, ceiling).
    RuntimeError when the classifier's test accuracy is below `min_accuracy`."""
    classifier, accuracy = train_classifier(dataset, epochs=epochs, seed=seed, n_train=n_train)
    if accuracy < min_accuracy:
        raise RuntimeError(f"{dataset} classifier test accuracy {accuracy:.4f} is below min_accuracy={min_accuracy}: "
                           f"its features cannot score samples")
    real_features, ceiling = real_reference(classifier, dataset, n, seed)
    return classifier, accuracy, real_features, ceiling


def feature_reference(dataset, n, seed=0, epochs=6, n_train=None, min_accuracy=0.0, pixel_components=20):
    """What sample quality is measured with: labelled data, the dataset's classifier
    (`classifier_reference`); unlabelled data (Frey Face), the first `pixel_components` principal
    components of the training pixels (`PixelFeatures`), accuracy None. Returns (extractor,
    accuracy, test features, the metrics of min(n, training set) real training images)."""
    data = load_dataset(dataset)
    if data.train_y is not None:
        return classifier_reference(dataset, n, seed, epochs, n_train, min_accuracy)
    extractor = PixelFeatures(data.train_x, pixel_components, seed=seed)
    real_features, ceiling = real_reference(extractor, dataset, min(n, len(data.train_x)), seed)
    return extractor, None, real_features, ceiling


def quality_table(scores, ceiling, by=("d_z", "model", "sampler")):
    """(summary: mean, std, n per setting; shown: mean ± std with the real images first and a
    `saturated` column; the saturated values of d_z)."""
    by, metrics = list(by), [m for m in METRICS if m in scores]     # tables older than a metric lack it
    summary = stats.summarise(scores, by, metrics)
    shown = tables.mean_std_table(summary, by, metrics).reset_index()
    too_far = low_recall(scores)
    shown["saturated"] = shown["d_z"].isin(too_far)
    real = {"d_z": "—", "model": "real", "sampler": "train images", **{m: f"{ceiling[m]:.4g}" for m in metrics},
            "saturated": False}
    return summary, pd.concat([pd.DataFrame([real]), shown]), too_far


def shifted_prior_configs(configs, repeats, mean, std):
    """(shifted, standard): VAEs at d_z = 2 on the protocol of `configs` over `repeats`, with the
    prior N(mean, diag(std²)) and with N(0, I) (`shifted_prior_runs`)."""
    base = {k: v for k, v in asdict(configs[0]).items() if k != "repeat"} | {"model": "vae", "d_z": 2}
    shifted = experiments.grid({**base, "prior_mean": tuple(mean), "prior_std": tuple(std)}, repeat=repeats)
    return shifted, experiments.grid(base, repeat=repeats)


def shifted_prior_runs(m, mean, std):
    """VAEs at d_z = 2 with the prior N(mean, diag(std²)) beside the same VAEs with N(0, I), on the
    protocol of the measured run `m`, paired by its repeats: ({config: result} of the shifted
    ones, the per-model table with a `prior` column)."""
    shifted, standard = shifted_prior_configs(m.configs, m.repeats, mean, std)
    results = experiments.run_all(shifted + standard)
    runs = tables.results_table(results)
    runs["prior"] = ["shifted" if c.prior_mean else "N(0, I)" for c in results]
    return {c: results[c] for c in shifted}, runs


def check_grid(grid_d_z, d_z_list):
    """ValueError unless the sample grids' d_z is one of the trained ones."""
    if grid_d_z not in d_z_list:
        raise ValueError(f"grid_d_z={grid_d_z} is not allowed; it must be one of d_z_list={d_z_list}")


def shifted_prior_reading(gap, margin, metric="test_recon"):
    """The shifted − standard prior difference (`shifted_prior_gap`) in words: whether its interval
    includes 0, lies beyond the smallest effect that matters (±`margin`), or in between."""
    near = min(abs(gap["ci_low"]), abs(gap["ci_high"]))
    if gap["ci_low"] <= 0 <= gap["ci_high"]:
        reading = "the interval includes 0: inconclusive, not evidence of no change"
    elif near >= margin:
        reading = (f"the interval excludes 0 and lies beyond ±{margin:g} nats, the smallest effect that matters: the "
                   f"shifted prior changes reconstruction, which the objective alone does not predict")
    else:
        reading = f"the interval excludes 0 but reaches inside ±{margin:g} nats: a change not shown to matter"
    return (f"Shifted vs standard prior, {metric} difference: {gap['gap']:+.5f} [{gap['ci_low']:+.5f}, "
            f"{gap['ci_high']:+.5f}] nats per image ({reading}).")


def shifted_prior_gap(runs, metric, min_effect):
    """Shifted − standard prior of `metric`, paired by repeat, with its 95% interval (one row)."""
    both = runs.assign(model=np.where(runs["prior"] == "shifted", "shifted", "standard"), d_z_all=2)
    return stats.paired_gap(both, ["d_z_all"], metric, min_effect, minus="standard", plus="shifted").iloc[0]
