"""Ways to draw codes for generation: the VAE's own prior, N(0, I), and densities fitted
to the training set's codes after training (one full-covariance Gaussian, a mixture)."""
import numpy as np
import torch
from sklearn.mixture import GaussianMixture

SAMPLERS = ("prior", "standard_normal", "gaussian", "mixture")


@torch.no_grad()
def training_codes(model, x, batch_size=5000):
    """Codes of the training images (the VAE's posterior means)."""
    return torch.cat([model.encode(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def fit_code_density(codes, kind, n_components=10, seed=0):
    """A scikit-learn GaussianMixture fitted to `codes`: kind 'gaussian' (1 component) or 'mixture'."""
    if kind not in ("gaussian", "mixture"):
        raise ValueError(f"kind={kind!r} is not allowed; use 'gaussian' or 'mixture'")
    k = 1 if kind == "gaussian" else n_components
    return GaussianMixture(n_components=k, covariance_type="full", random_state=seed).fit(
        np.asarray(codes, dtype=np.float64))


def sample_codes(model, sampler, n, seed=0, train_x=None):
    """`n` codes for `model` from `sampler` (see SAMPLERS); fitted samplers need `train_x`."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler={sampler!r} is not known; allowed: {', '.join(SAMPLERS)}")
    generator = torch.Generator().manual_seed(seed)
    if sampler == "prior":
        if not hasattr(model, "sample_prior"):
            raise ValueError("sampler='prior' needs a VAE; an AE has no prior (use 'gaussian' or 'mixture')")
        return model.sample_prior(n, generator)
    if sampler == "standard_normal":
        return torch.randn(n, model.d_z, generator=generator)
    if train_x is None:
        raise ValueError(f"sampler={sampler!r} is fitted to training codes: pass train_x")
    density = fit_code_density(training_codes(model, train_x), sampler, seed=seed)
    return torch.as_tensor(density.sample(n)[0], dtype=torch.float32)[torch.randperm(n, generator=generator)]


@torch.no_grad()
def decode(model, codes):
    """Mean images (sigmoid of the decoder's logits), never thresholded."""
    return torch.sigmoid(model.decode(codes))
