"""The importance-weighted bound: its defining properties, and exactness against a numerical
integral over a one-dimensional latent."""
import math

import pytest
import torch

from vae_utils.core.losses import kl_divergence, reconstruction_nll
from vae_utils.core.models import VAE
from vae_utils.metrics.likelihood import decoder_log_likelihood, importance_weighted_bound, log_normal


def tiny_vae(d_x, d_z, seed=0, learned_scale=False):
    torch.manual_seed(seed)
    model = VAE(d_x, d_z, n_layers=1, learned_scale=learned_scale).eval()
    if learned_scale:
        model.log_scale.data.fill_(math.log(0.3))    # a σ the integral resolves on this grid
    return model


def binary_images(n, d_x, seed=0):
    return (torch.rand(n, d_x, generator=torch.Generator().manual_seed(seed)) < 0.5).float()


@torch.no_grad()
def exact_log_likelihood(model, x, likelihood, span=12.0, points=40001):
    """log p(x) = log ∫ p(x | z) N(z; 0, 1) dz for a d_z = 1 model, by the trapezoid rule."""
    z = torch.linspace(-span, span, points, dtype=torch.float64)[:, None]
    log_scale = None if model.log_scale is None else model.log_scale.double()
    log_p_x = decoder_log_likelihood(model.decode(z.float()).double(), x.double(), likelihood, log_scale)
    log_joint = log_p_x + log_normal(z, torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64))
    step = z[1, 0] - z[0, 0]
    return float(torch.logsumexp(log_joint, 0) + torch.log(step))


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian", "gaussian_fixed"])
def test_bound_approaches_the_exact_log_likelihood_with_one_latent(likelihood):
    model = tiny_vae(d_x=6, d_z=1, learned_scale=likelihood == "gaussian")
    grey = torch.rand(1, 6, generator=torch.Generator().manual_seed(1))
    x = binary_images(1, 6) if likelihood == "bernoulli" else grey
    exact = exact_log_likelihood(model, x[0], likelihood)
    loose = float(importance_weighted_bound(model, x, likelihood, k=1))
    tight = float(importance_weighted_bound(model, x, likelihood, k=20000, batch_size=1))
    assert tight == pytest.approx(exact, abs=0.02)
    assert loose < tight
    # a one-sample bound is below log p(x) in expectation: check over many draws
    many = importance_weighted_bound(model, x.repeat(4000, 1), likelihood, k=1)
    assert float(many.mean()) < exact


def test_bound_rises_with_k_and_k1_estimates_the_elbo():
    model = tiny_vae(d_x=20, d_z=3)
    x = binary_images(400, 20)
    bounds = [float(importance_weighted_bound(model, x, "bernoulli", k=k).mean()) for k in (1, 5, 50, 500)]
    assert bounds == sorted(bounds) and bounds[-1] - bounds[0] > 0.05
    # E[L_1] is the ELBO: −(E_q[−log p(x|z)] + KL), the KL in closed form
    one = x[:1].repeat(20000, 1)
    mu, logvar = model.posterior(one[:1])
    with torch.no_grad():
        recon = reconstruction_nll(model.decode(mu + torch.randn(20000, 3) * torch.exp(0.5 * logvar)), one, "bernoulli")
        elbo = float(-(recon.mean() + kl_divergence(mu, logvar).sum()))
        l1 = importance_weighted_bound(model, one, "bernoulli", k=1)
    assert float(l1.mean()) == pytest.approx(elbo, abs=4 * float(l1.std()) / math.sqrt(len(l1)) + 0.02)


def test_bound_is_repeatable_and_leaves_the_random_stream_alone():
    model, x = tiny_vae(10, 2), binary_images(30, 10)
    torch.manual_seed(7)
    first = importance_weighted_bound(model, x, "bernoulli", k=8)
    after = torch.rand(1)
    torch.manual_seed(7)
    assert torch.equal(first, importance_weighted_bound(model, x, "bernoulli", k=8))
    assert torch.equal(after, torch.rand(1))


def test_bad_arguments_are_named():
    model, x = tiny_vae(10, 2), binary_images(3, 10)
    with pytest.raises(ValueError, match="k=0"):
        importance_weighted_bound(model, x, "bernoulli", k=0)
    with pytest.raises(ValueError, match="likelihood='poisson'"):
        importance_weighted_bound(model, x, "poisson")
