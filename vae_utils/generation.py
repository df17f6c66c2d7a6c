"""Scoring generated images: sample codes, decode, embed with the classifier, compare with real images."""
import pandas as pd
import torch

from .classifier import embed_and_predict
from .data import config_split, dataset_info, load_dataset
from .sample_quality import knn_radii, sample_metrics
from .samplers import decode, sample_codes

SAMPLERS_FOR = {"vae": ["prior", "gaussian", "mixture"], "ae": ["standard_normal", "gaussian", "mixture"]}
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


def real_reference(classifier, dataset, n, seed=0):
    """Classifier features of the test set, and the real-train vs real-test metrics (the ceiling)."""
    data = load_dataset(dataset)
    test_features, _ = embed_and_predict(classifier, data.test_x)
    pick = torch.randperm(len(data.train_x), generator=torch.Generator().manual_seed(seed))[:n]
    train_features, train_pred = embed_and_predict(classifier, data.train_x[pick])
    ceiling = sample_metrics(test_features.numpy(), train_features.numpy(), train_pred.numpy())
    return test_features.numpy(), ceiling


def score_generation(results, classifier, real_features, n, samplers=None, seed=0):
    """One row per (model, sampler): config columns plus Fréchet / precision / recall / coverage."""
    rows, real_radii = [], knn_radii(real_features)        # the real manifold, computed once
    for config, result in results.items():
        for sampler in (samplers or SAMPLERS_FOR)[config.model]:
            images = generate(result, sampler, n, seed)
            features, predictions = embed_and_predict(classifier, images)
            scores = sample_metrics(real_features, features.numpy(), predictions.numpy(), real_radii=real_radii,
                                    n_classes=len(dataset_info(config.dataset).class_names))
            rows.append({"model": config.model, "d_z": config.d_z, "repeat": config.repeat, "sampler": sampler,
                         **scores})
    return pd.DataFrame(rows)
