"""Loss terms on one scale for every model, and per-pixel reconstruction metrics.

Reconstruction terms are per-example sums over pixels, averaged over the batch, so a
β means the same thing for an AE, a VAE and a β-VAE.
"""
import math

import torch
import torch.nn.functional as F

LIKELIHOODS = ("bernoulli", "gaussian", "gaussian_fixed")
SCALE_FLOOR = 0.01       # the learned Gaussian's σ never goes below this (a density on 8-bit pixels)


def check_likelihood(likelihood):
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood={likelihood!r} is not known; allowed: {', '.join(LIKELIHOODS)}")


def reconstruction_nll(logits, x, likelihood, log_scale=None):
    """Per-example negative log-likelihood of `x` given the decoder's output, nats summed over
    pixels, shape x.shape[:-1].

    bernoulli: binary cross-entropy from logits. gaussian: N(x; sigmoid(logits), σ² I) with the
    model's learned shared σ (`log_scale`, floored at SCALE_FLOOR), normaliser included.
    gaussian_fixed: the study's summed squared error of sigmoid(logits), i.e. a Gaussian with
    σ² = ½ up to its constant (D/2)·log π.
    """
    if likelihood == "bernoulli":
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    if likelihood == "gaussian_fixed":
        return (torch.sigmoid(logits) - x).pow(2).sum(-1)
    if likelihood == "gaussian":
        if log_scale is None:
            raise ValueError("likelihood='gaussian' needs the model's learned log_scale")
        log_sigma = floored(log_scale)
        squared = ((torch.sigmoid(logits) - x).pow(2) * (0.5 * torch.exp(-2 * log_sigma))).sum(-1)
        return squared + x.shape[-1] * (log_sigma.squeeze(-1) + 0.5 * math.log(2 * math.pi))
    check_likelihood(likelihood)


def scale_of(model):
    """The pixel std σ of a model's learned Gaussian likelihood (floored), or None."""
    log_scale = getattr(model, "log_scale", None)
    return None if log_scale is None else float(floored(log_scale.detach()).exp().max())


def floored(log_scale):
    """log σ of a learned Gaussian likelihood, never below log SCALE_FLOOR."""
    return log_scale.clamp(min=math.log(SCALE_FLOOR))


def kl_divergence(mu, logvar, prior_mean=None, prior_std=None):
    """Closed-form KL(N(mu, exp(logvar)) || N(prior_mean, prior_std^2)) per example, shape mu.shape[:-1]."""
    if prior_mean is None:
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)
    prior_var = prior_std.pow(2)
    return 0.5 * ((logvar.exp() + (mu - prior_mean).pow(2)) / prior_var
                  - 1.0 - logvar + prior_var.log()).sum(-1)


def loss_terms(model, out, x, likelihood, beta):
    """Batch means of the reconstruction term, the KL term and the β-ELBO loss (recon + β·KL).

    The mean is over the batch axis (the last but one): a stack of K models gives K values each.
    """
    recon = reconstruction_nll(out.logits, x, likelihood, out.log_scale).mean(-1)
    if out.mu is None:
        kl = torch.zeros_like(recon)
    else:
        kl = kl_divergence(out.mu, out.logvar, model.prior_mean, model.prior_std).mean(-1)
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


def pixel_metrics(logits, x):
    """Per-pixel BCE, MSE and L1 of the reconstruction sigmoid(logits), summed over the batch."""
    x_hat = torch.sigmoid(logits)
    n_pix = x.shape[1]
    return {
        "bce": F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n_pix,
        "mse": F.mse_loss(x_hat, x, reduction="sum") / n_pix,
        "l1": F.l1_loss(x_hat, x, reduction="sum") / n_pix,
    }
