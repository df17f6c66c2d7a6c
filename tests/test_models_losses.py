import math

import pytest
import torch

from vae_utils.core.losses import SCALE_FLOOR, kl_divergence, loss_terms, pixel_metrics, reconstruction_nll, scale_of
from vae_utils.core.models import AE, SCALE_INIT, VAE, build_model, layer_widths, parameter_count


def test_layer_widths_follow_the_floor_formula():
    assert layer_widths(784, 2, 2) == [784, 393, 2]
    assert layer_widths(784, 2, 7) == [784, 673, 561, 449, 338, 226, 114, 2]
    assert layer_widths(784, 2, 3) == [784, 524, 263, 2]
    assert layer_widths(784, 2, 1) == [784, 2]


@pytest.mark.parametrize("args, match", [
    ((784, 2, 0), "n_layers=0"), ((784, 0, 2), "d_z=0"), ((784, 784, 2), "d_z=784"),
    ((784, 2.5, 2), "d_z=2.5"),
])
def test_layer_widths_reject_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        layer_widths(*args)


@pytest.mark.parametrize("kind", ["ae", "vae"])
@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_output_shapes(kind, n_layers):
    model = build_model(kind, 784, 5, n_layers)
    out = model(torch.rand(7, 784))
    assert out.logits.shape == (7, 784) and out.z.shape == (7, 5)
    assert model.encode(torch.rand(3, 784)).shape == (3, 5)
    if kind == "vae":
        assert out.mu.shape == out.logvar.shape == (7, 5)
        assert model.sample_prior(4).shape == (4, 5)
    else:
        assert out.mu is None


def test_vae_mean_path_is_deterministic_and_sample_path_is_not():
    torch.manual_seed(0)
    model, x = VAE(784, 2, 2), torch.rand(5, 784)
    assert torch.equal(model(x, sample=False).logits, model(x, sample=False).logits)
    assert not torch.equal(model(x).logits, model(x).logits)
    assert torch.equal(model(x, sample=False).z, model.encode(x))


def test_parameter_count_matches_the_widths():
    ae = AE(784, 2, 2)   # 784-393-2 and back
    expected = (784 * 393 + 393) + (393 * 2 + 2) + (2 * 393 + 393) + (393 * 784 + 784)
    assert parameter_count(ae) == expected


def test_kl_is_nonnegative_and_zero_at_the_prior():
    mu, logvar = torch.randn(100, 3), torch.randn(100, 3)
    assert (kl_divergence(mu, logvar) >= 0).all()
    assert torch.allclose(kl_divergence(torch.zeros(4, 3), torch.zeros(4, 3)), torch.zeros(4))
    prior_mean, prior_std = torch.tensor([5.0, 10.0]), torch.tensor([1.0, 2.0])
    kl = kl_divergence(prior_mean.expand(4, 2), (2 * prior_std.log()).expand(4, 2), prior_mean, prior_std)
    assert torch.allclose(kl, torch.zeros(4), atol=1e-6)


def test_kl_against_a_non_standard_prior_matches_torch_distributions():
    from torch.distributions import Normal
    from torch.distributions import kl_divergence as torch_kl
    mu, logvar = torch.randn(6, 2), torch.randn(6, 2)
    prior_mean, prior_std = torch.tensor([5.0, 10.0]), torch.tensor([1.0, 3.0])
    expected = torch_kl(Normal(mu, (0.5 * logvar).exp()), Normal(prior_mean, prior_std)).sum(1)
    assert torch.allclose(kl_divergence(mu, logvar, prior_mean, prior_std), expected, atol=1e-5)


def test_reconstruction_is_a_per_example_sum_and_loss_scales_agree():
    torch.manual_seed(0)
    x = torch.rand(8, 784)
    logits = torch.randn(8, 784)
    bce_mean = torch.nn.functional.binary_cross_entropy_with_logits(logits, x)
    assert torch.allclose(reconstruction_nll(logits, x, "bernoulli").mean(), bce_mean * 784, rtol=1e-5)
    # an AE's loss is exactly its reconstruction term, on the VAE's scale
    ae, vae = AE(784, 2, 2), VAE(784, 2, 2)
    ae_terms = loss_terms(ae, ae(x), x, "bernoulli", beta=1.0)
    assert ae_terms["kl"] == 0 and torch.equal(ae_terms["loss"], ae_terms["recon"])
    out = vae(x, sample=False)
    vae_terms = loss_terms(vae, out, x, "bernoulli", beta=2.5)
    assert torch.allclose(vae_terms["loss"], vae_terms["recon"] + 2.5 * vae_terms["kl"])
    assert torch.allclose(vae_terms["recon"], reconstruction_nll(out.logits, x, "bernoulli").mean())
    metrics = pixel_metrics(logits, x)
    assert torch.allclose(metrics["bce"] / 8, bce_mean, rtol=1e-5)


def test_the_study_gaussian_likelihood_is_summed_squared_error():
    x, logits = torch.rand(3, 10), torch.randn(3, 10)
    expected = ((torch.sigmoid(logits) - x) ** 2).sum(1)
    assert torch.allclose(reconstruction_nll(logits, x, "gaussian_fixed"), expected)
    with pytest.raises(ValueError, match="likelihood='poisson'"):
        reconstruction_nll(logits, x, "poisson")


def test_the_learned_gaussian_is_a_normalised_nll_with_a_floor_on_sigma():
    x, logits = torch.rand(3, 10), torch.randn(3, 10)
    for sigma in (0.2, 0.05):
        log_scale = torch.full((1,), math.log(sigma))
        expected = -torch.distributions.Normal(torch.sigmoid(logits), sigma).log_prob(x).sum(1)
        assert torch.allclose(reconstruction_nll(logits, x, "gaussian", log_scale), expected, rtol=1e-5)
    floored = -torch.distributions.Normal(torch.sigmoid(logits), SCALE_FLOOR).log_prob(x).sum(1)
    assert torch.allclose(reconstruction_nll(logits, x, "gaussian", torch.full((1,), -20.0)), floored, rtol=1e-5)
    with pytest.raises(ValueError, match="log_scale"):
        reconstruction_nll(logits, x, "gaussian")


def test_a_learned_gaussian_model_has_one_trained_sigma_and_others_none():
    ae, vae = AE(20, 2, 2, learned_scale=True), VAE(20, 2, 2, learned_scale=True)
    x = torch.rand(5, 20)
    for model in (ae, vae):
        assert model.log_scale.shape == (1,) and model(x).log_scale is model.log_scale
        assert scale_of(model) == pytest.approx(SCALE_INIT)
        loss_terms(model, model(x), x, "gaussian", 1.0)["loss"].backward()
        assert model.log_scale.grad is not None
    assert AE(20, 2, 2).log_scale is None and scale_of(VAE(20, 2, 2)) is None


def test_prior_must_match_d_z_and_be_positive():
    with pytest.raises(ValueError, match="prior_std"):
        VAE(784, 2, 2, prior_mean=[0.0, 0.0], prior_std=[1.0, 0.0])
    with pytest.raises(ValueError, match="d_z=2"):
        VAE(784, 2, 2, prior_mean=[0.0, 0.0, 0.0])
    vae = VAE(784, 2, 2, prior_mean=[5.0, 10.0], prior_std=[1.0, 1.0])
    samples = vae.sample_prior(20000, torch.Generator().manual_seed(0))
    assert torch.allclose(samples.mean(0), torch.tensor([5.0, 10.0]), atol=0.05)
