"""How likely a VAE finds the test images: the importance-weighted bound on log p(x)
(Burda, Grosse and Salakhutdinov, 2016), in nats per image.

L_k(x) = log (1/k) Σ_i p(x | z_i) p(z_i) / q(z_i | x), with z_1..z_k drawn from q(z | x).
L_1 is the ELBO (in expectation); L_k never decreases in expectation as k grows, and tends
to log p(x). What p(x | z) means depends on the likelihood:

- bernoulli: Π_d p_d^x_d (1 − p_d)^(1 − x_d). A normalised probability only for binary
  pixels; on grey levels it is not a density over [0, 1]^D, and the bound is then a bound on
  the log of that unnormalised function, comparable between models on the same images but
  not with published numbers on binarised MNIST. On `binarized_mnist` (binary pixels) it is
  a true bound on log p(x), comparable with published ones (Burda et al., Table 1).
- gaussian: N(x; sigmoid(logits), σ² I) with the model's learned σ, normaliser included: a
  density over real-valued (dequantised) pixels.
- gaussian_fixed: N(x; sigmoid(logits), ½ I), the study's summed squared error with its
  normaliser −(D/2)·log π.
"""
import math

import torch

from ..core.losses import check_likelihood, reconstruction_nll

EVAL_NOISE_SEED = 2024      # the bound's samples come from their own seeded stream


def log_normal(z, mean, std):
    """log N(z; mean, diag(std²)), summed over the last axis."""
    return (-0.5 * ((z - mean) / std).pow(2) - torch.log(std) - 0.5 * math.log(2 * math.pi)).sum(-1)


def decoder_log_likelihood(logits, x, likelihood, log_scale=None):
    """log p(x | z) in nats, summed over pixels (see the module's note on what it means)."""
    log_p = -reconstruction_nll(logits, x.expand_as(logits), likelihood, log_scale)
    if likelihood == "gaussian_fixed":
        log_p = log_p - 0.5 * x.shape[-1] * math.log(math.pi)
    return log_p


@torch.no_grad()
def log_weights(model, x, likelihood, k):
    """log p(x, z_i) − log q(z_i | x) for k posterior samples per image: shape (k, len(x))."""
    mu, logvar = model.posterior(x)
    std = torch.exp(0.5 * logvar)
    z = mu + std * torch.randn((k, *mu.shape), device=mu.device)
    log_p_x = decoder_log_likelihood(model.decode(z), x, likelihood, model.log_scale)
    return log_p_x + log_normal(z, model.prior_mean, model.prior_std) - log_normal(z, mu, std)


@torch.no_grad()
def importance_weighted_bound(model, x, likelihood, k=50, batch_size=None, seed=EVAL_NOISE_SEED):
    """L_k for every image of `x` (a tensor of shape (len(x),), nats), from a fixed seed; the
    caller's random stream is left as it was. k = 1 is a one-sample estimate of the ELBO.
    Images go `batch_size` at a time (default: about 25,000 samples per batch, at most 500 images)."""
    check_likelihood(likelihood)
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r} is not allowed; it must be an integer >= 1")
    if not hasattr(model, "posterior"):
        raise ValueError("the importance-weighted bound needs a VAE (an AE has no posterior)")
    batch_size = batch_size or max(1, min(500, 25000 // k))
    model.eval()
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        bounds = [torch.logsumexp(log_weights(model, x[i:i + batch_size].to(device), likelihood, k), 0)
                  - math.log(k) for i in range(0, len(x), batch_size)]
    return torch.cat(bounds).cpu()
