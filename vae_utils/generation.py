"""Scoring generated images: sample codes, decode, embed with the classifier, compare with real images."""
import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA

from .classifier import embed_and_predict
from .data import config_split, dataset_info, load_dataset
from .sample_quality import RealManifold, sample_metrics
from .samplers import decode, sample_codes

SAMPLERS_FOR = {"vae": ["prior", "gaussian", "mixture"], "ae": ["standard_normal", "gaussian", "mixture"]}
BOUNDED = ("precision", "recall", "coverage", "class_coverage")   # shares in [0, 1]; density may exceed 1
SATURATED_RECALL = 0.01     # below this mean recall, samples cover almost no real image: the metrics say little
SAMPLER_LABELS = {"prior": "own prior", "standard_normal": "N(0, I) (naive)",
                  "gaussian": "fitted Gaussian", "mixture": "fitted mixture (10)"}


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


def saturated(scores, by="d_z"):
    """The values of `by` where some model and sampler in `scores` has a mean recall below
    SATURATED_RECALL (e.g. d_z = 2): there every sampler is far from the data, and Fréchet
    gaps compare two failures."""
    recall = scores.groupby([by, "model", "sampler"])["recall"].mean()
    return set(recall[recall < SATURATED_RECALL].index.get_level_values(by))


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
