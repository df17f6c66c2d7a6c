"""Code statistics and clustering scores on codes whose answer is known."""
import numpy as np
import pytest
import torch

from vae_utils.core.losses import kl_divergence
from vae_utils.metrics import latents
from vae_utils.study.beta import check_betas


def blobs(n_per_class, n_classes=10, d=4, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (n_classes, d))
    y = np.repeat(np.arange(n_classes), n_per_class)
    return centres[y] + rng.normal(0, spread, (len(y), d)), y


def test_active_units_and_code_statistics():
    rng = np.random.default_rng(0)
    means = np.column_stack([rng.normal(0, 1, 1000), rng.normal(0, 0.01, 1000), np.zeros(1000)])
    assert latents.active_units(means).tolist() == [True, False, False]
    stds = np.full_like(means, 0.5)
    found = latents.code_statistics(means, stds)
    assert found["active_units"] == 1 and found["posterior_std"] == pytest.approx(0.5)
    assert found["code_rms"] == pytest.approx(np.sqrt(np.mean(means ** 2)))


def test_kl_per_unit_matches_the_closed_form_kl():
    torch.manual_seed(0)
    mu, logvar = torch.randn(50, 3), torch.randn(50, 3)
    per_unit = latents.kl_per_unit(mu.numpy(), torch.exp(0.5 * logvar).numpy())
    assert per_unit.sum() == pytest.approx(float(kl_divergence(mu, logvar).mean()), rel=1e-5)


def test_matched_accuracy_ignores_cluster_names():
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert latents.matched_accuracy(labels, np.array([2, 2, 0, 0, 1, 1])) == 1.0
    assert latents.matched_accuracy(labels, np.array([0, 1, 0, 1, 0, 1])) == pytest.approx(2 / 6)


def test_separated_classes_score_high_and_noise_scores_low():
    train, train_y = blobs(60, seed=0)
    test, test_y = blobs(30, seed=0)        # same centres (same seed), fresh noise is not needed
    good = latents.clustering_scores(train, train_y, test, test_y)
    assert good["nmi"] > 0.95 and good["probe_accuracy"] > 0.95 and good["knn_accuracy"] > 0.95
    assert good["silhouette"] > 0.5
    rng = np.random.default_rng(1)
    noise = latents.clustering_scores(rng.normal(size=train.shape), train_y, rng.normal(size=test.shape), test_y)
    assert noise["nmi"] < 0.2 and noise["probe_accuracy"] < 0.4 and noise["silhouette"] < 0.1


def test_views_keep_active_units_only_and_say_when_there_are_none():
    rng = np.random.default_rng(0)
    train = np.column_stack([rng.normal(5, 2, 200), np.full(200, 0.3)])
    raw, standardised = latents.views(train, train[:10]).values()
    assert raw[0] is train and standardised[0].shape == (200, 1)
    assert standardised[0].mean() == pytest.approx(0, abs=1e-9) and standardised[0].std() == pytest.approx(1)
    assert latents.views(np.zeros((20, 3)), np.zeros((5, 3)))["active_standardised"] is None


@pytest.mark.parametrize("betas", [[], [0.5, 2], [1, 1], [1, -0.1], [1, float("nan")]])
def test_bad_beta_grids_are_named(betas):
    with pytest.raises(ValueError, match="betas="):
        check_betas(betas)
