"""Training configuration, the one `fit` loop for AE and VAE, and evaluation."""
import math
import time
from dataclasses import asdict, dataclass, field

import torch
from tqdm.auto import tqdm

from .data import DATASETS, check_split, config_split, dataset_info, load_dataset
from .losses import check_likelihood, loss_terms, pixel_metrics
from .models import MODELS, build_model, check_prior, layer_widths
from .reproducibility import pick_device, seed_everything


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model (and so its cache key)."""
    dataset: str
    model: str                      # "ae" or "vae"
    n_layers: int
    d_z: int
    beta: float = 1.0               # weight of the KL term (VAE); the recon term is a per-example sum
    likelihood: str | None = None   # None: the dataset's default (bernoulli / gaussian)
    prior_mean: tuple | None = None # VAE prior N(prior_mean, diag(prior_std^2)); None: N(0, I)
    prior_std: tuple | None = None
    epochs: int = 10
    batch_size: int = 100
    lr: float = 1e-3
    seed: int = 0                   # data split seed; the model's init/shuffle uses seed + fold
    n_folds: int = 10
    fold: int = 0
    n_train: int | None = None      # a seeded subset of the training set, or None for all of it

    def __post_init__(self):
        for name in ("prior_mean", "prior_std"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(float(v) for v in value))
        if self.likelihood is None and self.dataset in DATASETS:
            object.__setattr__(self, "likelihood", DATASETS[self.dataset].likelihood)
        self.validate()

    def validate(self):
        """Raise ValueError naming the first bad parameter, before any data is loaded."""
        info = dataset_info(self.dataset)
        if self.model not in MODELS:
            raise ValueError(f"model={self.model!r} is not known; allowed: {', '.join(MODELS)}")
        check_likelihood(self.likelihood)
        layer_widths(info.d_x, self.d_z, self.n_layers)
        if not (isinstance(self.beta, (int, float)) and math.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta={self.beta!r} is not allowed; it must be a finite number >= 0")
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} is not allowed; it must be an integer >= 1")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr!r} is not allowed; it must be > 0")
        check_prior(self.model, self.d_z, self.prior_mean, self.prior_std)
        check_split(self.n_folds, self.fold, self.n_train)

    def to_dict(self):
        return asdict(self)

    def label(self):
        return (f"{self.model.upper()} {self.dataset} L={self.n_layers} d_z={self.d_z} "
                f"beta={self.beta:g} fold={self.fold}")


@torch.no_grad()
def evaluate(model, x, likelihood, beta=1.0, sample=False, batch_size=2000):
    """Mean loss terms and per-pixel metrics over `x` in one pass without gradients.

    A VAE is evaluated at its posterior mean unless `sample=True`.
    """
    model.eval()
    device = next(model.parameters()).device
    totals = {}
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size].to(device)
        out = model(xb, sample=sample)
        terms = {k: v * len(xb) for k, v in loss_terms(model, out, xb, likelihood, beta).items()}
        terms.update(pixel_metrics(out.logits, xb))
        for k, v in terms.items():
            totals[k] = totals.get(k, 0.0) + float(v)
    return {k: v / len(x) for k, v in totals.items()}


def make_optimizer(model, lr, capturable=False):
    """Adam, fused where this torch supports it (faster on CPU and GPU).

    `capturable=True` keeps Adam's step count on the device, as a CUDA graph needs.
    """
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True, capturable=capturable)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(model.parameters(), lr=lr, capturable=capturable)


def model_for(config):
    """The (untrained) model a training config describes: the one config → model function."""
    return build_model(config.model, dataset_info(config.dataset).d_x, config.d_z, config.n_layers,
                       config.prior_mean, config.prior_std)


def init_model(config):
    """`config`'s freshly initialised model and its shuffling generator, both from its seed."""
    generator = seed_everything(config.seed * 1000 + config.fold)
    return model_for(config), generator


def test_metrics(model, config, test_x):
    """Test-set metrics, once, after training: at the posterior mean, and (VAE) with a sample."""
    test = {f"test_{k}": v for k, v in evaluate(model, test_x, config.likelihood, config.beta).items()}
    if config.model == "vae":
        torch.manual_seed(config.seed)
        sampled = evaluate(model, test_x, config.likelihood, config.beta, sample=True)
        test.update({f"test_sampled_{k}": v for k, v in sampled.items()})
    return test


def train_epoch(model, optimizer, x_train, batch_size, generator, likelihood, beta):
    """One pass over `x_train` in seeded random batches; returns mean [loss, recon, kl]."""
    model.train()
    device = x_train.device
    order = torch.randperm(len(x_train), generator=generator).to(device)
    sums = torch.zeros(3, device=device)
    for batch in order.split(batch_size):
        xb = x_train[batch]
        terms = loss_terms(model, model(xb), xb, likelihood, beta)
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        optimizer.step()
        sums += torch.stack([terms["loss"].detach(), terms["recon"].detach(),
                             terms["kl"].detach()]) * len(batch)
    return (sums / len(x_train)).tolist()


@dataclass
class FitResult:
    model: torch.nn.Module
    config: TrainConfig
    history: list = field(default_factory=list)   # one dict per epoch
    train_seconds: float = 0.0                    # wall time; for a stacked member, the stack's / K
    test: dict = field(default_factory=dict)      # test-set metrics, once, after training
    stack_size: int = 1                           # members trained together (vae_utils.stacked)


def fit(config, device=None, progress=True):
    """Train `config` from scratch; return the model, its history and its test metrics.

    Raises FloatingPointError (naming the config and the epoch) when the loss stops being finite.
    """
    config.validate()
    device = pick_device(device)
    data = load_dataset(config.dataset)
    train_idx, val_idx = config_split(config, len(data.train_x))
    x_train = data.train_x[train_idx].to(device)
    x_val = data.train_x[val_idx].to(device)

    model, generator = init_model(config)
    model.to(device)
    optimizer = make_optimizer(model, config.lr)
    history = []
    start = time.perf_counter()
    epochs = tqdm(range(1, config.epochs + 1), desc=config.label(), leave=False,
                  **({} if progress else {"disable": True}))   # TQDM_DISABLE=1 also silences it
    for epoch in epochs:
        train = train_epoch(model, optimizer, x_train, config.batch_size, generator,
                            config.likelihood, config.beta)
        if not all(math.isfinite(v) for v in train):
            raise FloatingPointError(f"non-finite training loss at epoch {epoch} for {config}")
        val = evaluate(model, x_val, config.likelihood, config.beta)
        history.append({"epoch": epoch, "train_loss": train[0], "train_recon": train[1],
                        "train_kl": train[2], **{f"val_{k}": v for k, v in val.items()},
                        "seconds": time.perf_counter() - start})
        epochs.set_postfix(loss=f"{train[0]:.2f}", val=f"{val['loss']:.2f}")
    seconds = time.perf_counter() - start
    test = test_metrics(model, config, data.test_x)
    return FitResult(model.cpu().eval(), config, history, seconds, test)
