"""What a model has to beat to reconstruct held-out images: predict the mean training image,
or look up the nearest training image (pixel distance). Scored like the models' test metrics:
per-pixel MSE, and the primary metric `test_recon` in nats per image under the likelihood."""
import math

import pandas as pd
import torch

from ..core.losses import SCALE_FLOOR, check_likelihood

BASELINES = ("mean image", "nearest training image")


def predictions(train_x, test_x, baseline):
    """Each test image's prediction by `baseline` (one of BASELINES) from `train_x`."""
    if baseline == "mean image":
        return train_x.mean(0, keepdim=True).expand_as(test_x)
    if baseline == "nearest training image":
        return train_x[torch.cdist(test_x, train_x).argmin(1)]
    raise ValueError(f"baseline={baseline!r} is not known; allowed: {', '.join(BASELINES)}")


def gaussian_recon(mse, d_x, likelihood):
    """`test_recon` (nats per image) of predictions with per-pixel `mse`: for the learned Gaussian,
    its NLL with the best shared σ (σ² = mse, floored at SCALE_FLOOR²); for the study's fixed
    σ² = ½, the summed squared error."""
    if likelihood == "gaussian_fixed":
        return d_x * mse
    var = max(mse, SCALE_FLOOR ** 2)
    return 0.5 * d_x * (math.log(2 * math.pi * var) + mse / var)


def reconstruction_baselines(train_sets, test_x, likelihood):
    """One row per baseline and training set (e.g. each repeat's training images): the test
    MSE per pixel and `test_recon`. Gaussian likelihoods only (grey-level BCE of a looked-up
    image is not comparable)."""
    check_likelihood(likelihood)
    if likelihood == "bernoulli":
        raise ValueError("reconstruction baselines are defined for the Gaussian likelihoods; got 'bernoulli'")
    rows = []
    for repeat, train_x in enumerate(train_sets):
        for baseline in BASELINES:
            mse = float((predictions(train_x, test_x, baseline) - test_x).pow(2).mean())
            rows.append({"baseline": baseline, "repeat": repeat, "test_mse": mse,
                         "test_recon": gaussian_recon(mse, test_x.shape[1], likelihood)})
    return pd.DataFrame(rows)

