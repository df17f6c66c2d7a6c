"""The study's "dynamic" MLP autoencoders: widths narrow linearly from d_x to d_z."""
import math
from typing import NamedTuple

import torch
from torch import nn

MODELS = ("ae", "vae")
SCALE_INIT = 0.1         # initial pixel std σ of a learned Gaussian likelihood


def layer_widths(d_x, d_z, n_layers):
    """Widths D_i = d_x - floor((d_x - d_z) * i / n_layers), i = 0..n_layers (exact integers)."""
    for name, value in (("d_x", d_x), ("d_z", d_z), ("n_layers", n_layers)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name}={value!r} is not allowed; it must be an integer")
    if n_layers < 1:
        raise ValueError(f"n_layers={n_layers} is not allowed; it must be >= 1")
    if not 1 <= d_z < d_x:
        raise ValueError(f"d_z={d_z} is not allowed; it must satisfy 1 <= d_z < d_x={d_x}")
    return [d_x - (d_x - d_z) * i // n_layers for i in range(n_layers + 1)]


def mlp(widths):
    """Linear layers through `widths` with ReLU between them and none after the last."""
    layers = []
    for i, (w_in, w_out) in enumerate(zip(widths[:-1], widths[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(w_in, w_out))
    return nn.Sequential(*layers)


def parameter_count(module):
    return sum(p.numel() for p in module.parameters())


class Output(NamedTuple):
    logits: torch.Tensor          # decoder output before the sigmoid
    z: torch.Tensor               # the code that was decoded
    mu: torch.Tensor | None = None
    logvar: torch.Tensor | None = None
    log_scale: torch.Tensor | None = None   # log σ of a learned Gaussian likelihood, else None


def forward_pass(model, x, noise=None):
    """The one forward pass of an AE or a VAE, one model or a stack of K (`engine.stacked`): the
    code z and the decoder's logits; for a VAE also the posterior's mean and log-variance, and z
    = mu + noise · σ (`noise`: the reparameterisation's ε, shaped like mu; None: z = mu)."""
    if model.kind == "ae":
        z = model.encoder(x)
        return Output(model.decoder(z), z, log_scale=model.log_scale)
    h = model.encoder(x)
    mu, logvar = model.mu_head(h), model.logvar_head(h)
    z = mu if noise is None else mu + noise * torch.exp(0.5 * logvar)
    return Output(model.decoder(z), z, mu, logvar, model.log_scale)


class AE(nn.Module):
    """Deterministic autoencoder: linear code, decoder mirrors the encoder, logits out."""
    kind = "ae"

    def __init__(self, d_x, d_z, n_layers, learned_scale=False):
        super().__init__()
        self.widths = layer_widths(d_x, d_z, n_layers)
        self.d_z = d_z
        self.encoder = mlp(self.widths)
        self.decoder = mlp(self.widths[::-1])
        self.add_scale(learned_scale)

    def add_scale(self, learned):
        """With `learned`, one shared log σ (the pixel std of a Gaussian likelihood), trained with
        the weights; otherwise none (log_scale is None)."""
        self.log_scale = nn.Parameter(torch.full((1,), math.log(SCALE_INIT))) if learned else None

    def encode(self, x):
        """The code of x (for a VAE: the posterior mean)."""
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x, sample=True):
        return forward_pass(self, x)


class VAE(AE):
    """Gaussian-encoder VAE with a diagonal Gaussian prior (N(0, I) unless given)."""
    kind = "vae"

    def __init__(self, d_x, d_z, n_layers, prior_mean=None, prior_std=None, learned_scale=False):
        nn.Module.__init__(self)
        self.widths = layer_widths(d_x, d_z, n_layers)
        self.d_z = d_z
        hidden = self.widths[:-1]
        self.encoder = nn.Sequential(mlp(hidden), nn.ReLU()) if len(hidden) > 1 else nn.Identity()
        self.mu_head = nn.Linear(hidden[-1], d_z)
        self.logvar_head = nn.Linear(hidden[-1], d_z)
        self.decoder = mlp(self.widths[::-1])
        check_prior("vae", d_z, prior_mean, prior_std)
        mean = torch.zeros(d_z) if prior_mean is None else torch.as_tensor(prior_mean, dtype=torch.float32)
        std = torch.ones(d_z) if prior_std is None else torch.as_tensor(prior_std, dtype=torch.float32)
        self.register_buffer("prior_mean", mean)
        self.register_buffer("prior_std", std)
        self.add_scale(learned_scale)

    def posterior(self, x):
        h = self.encoder(x)
        return self.mu_head(h), self.logvar_head(h)

    def encode(self, x):
        return self.posterior(x)[0]

    def forward(self, x, sample=True):
        noise = torch.randn(*x.shape[:-1], self.d_z, dtype=x.dtype, device=x.device) if sample else None
        return forward_pass(self, x, noise)

    def sample_prior(self, n, generator=None):
        eps = torch.randn(n, self.d_z, generator=generator).to(self.prior_mean.device)
        return self.prior_mean + self.prior_std * eps


def check_prior(kind, d_z, prior_mean, prior_std):
    """ValueError unless the prior N(prior_mean, diag(prior_std²)) fits a `kind` model with `d_z`."""
    if kind != "vae" and (prior_mean is not None or prior_std is not None):
        raise ValueError("prior_mean/prior_std are only allowed for model='vae'")
    for name, value in (("prior_mean", prior_mean), ("prior_std", prior_std)):
        if value is not None and len(value) != d_z:
            raise ValueError(f"{name}={list(value)} is not allowed; it must have d_z={d_z} entries")
    if prior_std is not None and not all(float(s) > 0 for s in prior_std):
        raise ValueError(f"prior_std={list(prior_std)} is not allowed; every entry must be > 0")


def build_model(kind, d_x, d_z, n_layers, prior_mean=None, prior_std=None, learned_scale=False):
    if kind not in MODELS:
        raise ValueError(f"model={kind!r} is not known; allowed: {', '.join(MODELS)}")
    check_prior(kind, d_z, prior_mean, prior_std)
    if kind == "ae":
        return AE(d_x, d_z, n_layers, learned_scale)
    return VAE(d_x, d_z, n_layers, prior_mean, prior_std, learned_scale)
