"""Training configuration, the one `fit` loop for AE and VAE, and evaluation."""
import math
import statistics
import time
from dataclasses import asdict, dataclass, field

import torch
from tqdm.auto import tqdm

from ..config import rules
from ..core.data import DATASETS, binarise_batch, binariser, check_split, config_split, dataset_info, load_dataset
from ..core.losses import check_likelihood, loss_terms, pixel_metrics
from ..core.models import MODELS, build_model, check_prior, layer_widths
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
    max_epochs: int = 100           # cap; training stops earlier when validation stops improving
    patience: int = 10              # epochs without a significant validation gain before stopping
    min_delta: float = 1e-3         # a gain counts when it lowers the validation loss by this fraction
    batch_size: int = 100
    lr: float = 1e-3
    anneal: float | None = None     # after early stopping, a second phase from the best epoch at lr × anneal
                                    # until validation stops improving again; None: no second phase
    seed: int = 0                   # data seed; a repeat's init, order and noise use seed * 1000 + repeat
    repeat: int = 0                 # which independent repeat (data.repeat_indices)
    n_train: int | None = None      # images per repeat (disjoint blocks), or None: all, per-repeat order

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
        for name in ("max_epochs", "patience", "batch_size", "lr", "anneal", "min_delta"):
            rules.check_value(name, getattr(self, name))          # the protocol's rules (vae_utils.config.rules)
        check_prior(self.model, self.d_z, self.prior_mean, self.prior_std)
        check_split(self.repeat, self.n_train)

    def to_dict(self):
        """The fields, `anneal` only where it is set: a model trained before that field existed
        keeps its cache key and its entry still matches."""
        fields = asdict(self)
        if fields["anneal"] is None:
            del fields["anneal"]
        return fields

    def label(self):
        return (f"{self.model.upper()} {self.dataset} L={self.n_layers} d_z={self.d_z} "
                f"beta={self.beta:g} repeat={self.repeat}")


EVAL_NOISE_SEED = 12345     # sampled evaluations draw from their own seeded stream


def anneal_seed(config):
    """The seed of a config's annealing phase (its shuffling and noise), the same in both engines."""
    return config.seed * 1000 + config.repeat + 7919


@torch.no_grad()
def evaluate(model, x, likelihood, beta=1.0, sample=False, batch_size=2000):
    """Mean loss terms and per-pixel metrics over `x` in one pass without gradients.

    A VAE is evaluated at its posterior mean unless `sample=True`: then with one posterior
    sample per image from a fixed seed, so the result is the (β-)ELBO's Monte Carlo estimate,
    repeatable, and the caller's random stream is left as it was.
    """
    model.eval()
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(EVAL_NOISE_SEED)
        return _evaluate(model, x, likelihood, beta, sample, batch_size, device)


def _evaluate(model, x, likelihood, beta, sample, batch_size, device):
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
                       config.prior_mean, config.prior_std, learned_scale=config.likelihood == "gaussian")


def init_model(config):
    """`config`'s freshly initialised model and its shuffling generator, both from its seed."""
    generator = seed_everything(config.seed * 1000 + config.repeat)
    return model_for(config), generator


def test_metrics(model, config, test_x):
    """Test-set metrics, once, after training, on the whole test set: at the posterior mean,
    and for a VAE with one posterior sample ("sampled"; test_elbo is minus its recon + KL)."""
    test = {f"test_{k}": v for k, v in evaluate(model, test_x, config.likelihood, config.beta).items()}
    if config.model == "vae":
        sampled = evaluate(model, test_x, config.likelihood, config.beta, sample=True)
        test.update({f"test_sampled_{k}": v for k, v in sampled.items()})
        test["test_elbo"] = -(sampled["recon"] + sampled["kl"])
    return test


def epoch_record(epoch, model, train_eval_x, val_x, config, running, seconds):
    """One history row: the epoch's running training terms, and the same evaluation (the
    training objective; a VAE with a sample) on a fixed training subset and on validation."""
    sample = config.model == "vae"
    row = {"epoch": epoch, "train_loss": running[0], "train_recon": running[1], "train_kl": running[2]}
    for name, x in (("train_eval", train_eval_x), ("val", val_x)):
        row.update({f"{name}_{k}": v for k, v in
                    evaluate(model, x, config.likelihood, config.beta, sample=sample).items()})
    row["seconds"] = seconds
    return row


class EarlyStopping:
    """Watches a model's validation loss: keeps the best weights, says when to stop.

    A gain is significant when it lowers the loss by more than `min_delta` (relative) below
    the last significant level; training stops after `patience` epochs without one.
    """

    def __init__(self, patience, min_delta):
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.best_state = math.inf, 0, None
        self.level, self.last_gain, self.stopped = math.inf, 0, False

    def update(self, epoch, loss, model):
        """Record epoch `epoch`'s validation loss; True when training should stop."""
        if loss < self.best:
            self.best, self.best_epoch = loss, epoch
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if loss < self.level - self.min_delta * abs(self.level) or self.level == math.inf:
            self.level, self.last_gain = loss, epoch
        self.stopped = epoch - self.last_gain >= self.patience
        return self.stopped

    @classmethod
    def resumed(cls, patience, min_delta, best_epoch, best_loss, model, epoch):
        """A watcher for a further phase starting after `epoch`, holding `model` (the restored
        best, of `best_epoch` and loss `best_loss`) as its best so far."""
        stopper = cls(patience, min_delta)
        stopper.best, stopper.best_epoch, stopper.level, stopper.last_gain = best_loss, best_epoch, best_loss, epoch
        stopper.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return stopper

    def restore(self, model):
        if self.best_state is not None:
            model.load_state_dict(self.best_state)

    def summary(self, epochs_run, max_epochs):
        return {"best_epoch": self.best_epoch, "epochs_run": epochs_run, "stopped_early": self.stopped,
                "hit_cap": not self.stopped and epochs_run >= max_epochs}


def train_eval_subset(train_idx, n_val):
    """The fixed slice of a repeat's training images evaluated each epoch (as many as its validation set)."""
    return train_idx[:n_val]


def train_epoch(model, optimizer, x_train, batch_size, generator, likelihood, beta, binarise=None):
    """One pass over `x_train` in seeded random batches; returns mean [loss, recon, kl].
    With a `binarise` generator, `x_train` holds pixel probabilities and each batch is binarised anew."""
    model.train()
    device = x_train.device
    order = torch.randperm(len(x_train), generator=generator).to(device)
    sums = torch.zeros(3, device=device)
    for batch in order.split(batch_size):
        xb = x_train[batch] if binarise is None else binarise_batch(x_train[batch], binarise)
        terms = loss_terms(model, model(xb), xb, likelihood, beta)
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        optimizer.step()
        sums += torch.stack([terms["loss"].detach(), terms["recon"].detach(),
                             terms["kl"].detach()]) * len(batch)
    return (sums / len(x_train)).tolist()


def training_data(config, device):
    """A config's images on `device`: (training images, validation images, the fixed training
    subset evaluated each epoch, the binarisation stream or None). Dynamically binarised data
    gives its pixel probabilities, binarised anew each batch."""
    data = load_dataset(config.dataset)
    train_idx, val_idx = config_split(config, len(data.train_x))
    dynamic = data.train_p is not None
    x_train = (data.train_p if dynamic else data.train_x)[train_idx].to(device)
    return (x_train, data.train_x[val_idx].to(device),
            data.train_x[train_eval_subset(train_idx, len(val_idx))].to(device),
            binariser(config, device) if dynamic else None)


@dataclass
class FitResult:
    model: torch.nn.Module
    config: TrainConfig
    history: list = field(default_factory=list)   # one dict per epoch
    train_seconds: float = 0.0                    # wall time; for a stacked member, the stack's / K
    test: dict = field(default_factory=dict)      # test-set metrics, once, after training
    stack_size: int = 1                           # members trained together (vae_utils.engine.stacked)
    stopping: dict = field(default_factory=dict)  # best_epoch, epochs_run, stopped_early, hit_cap


def train_phase(trainer, configs, members, histories, stoppers, failed, offsets, start, label, progress,
                on_epoch=None, phase="train"):
    """The one epoch loop of both trainers (`SingleTrainer`, `stacked.StackedTrainer`): train
    `trainer`'s members (configs[k] for k in its order) epoch by epoch until each has stopped
    (`stoppers[k]`) or failed, dropping finished ones from a stack; member k's epochs are numbered
    from offsets[k] + 1, its records go to histories[k], its error to failed[k] (FloatingPointError
    when its loss stops being finite); `on_epoch(phase, epoch, best)` hears of each epoch (best:
    the median over the live members of their best so far). The best epochs are not restored here."""
    live = [configs.index(c) for c in trainer.configs]              # live[i]: config of position i
    for epoch in tqdm(range(1, configs[0].max_epochs + 1), desc=label, leave=False, disable=not progress):
        train = trainer.train_epoch().tolist()
        trainer.write_back()
        for i, k in enumerate(live):
            number = offsets[k] + epoch
            if not all(math.isfinite(v) for v in train[i]):
                during = "" if phase == "train" else f" ({phase})"
                failed[k] = FloatingPointError(f"non-finite training loss at epoch {number}{during} for {configs[k]}")
                continue
            histories[k].append(epoch_record(number, members[k], trainer.train_eval_x[i], trainer.val_x[i],
                                             configs[k], train[i], time.perf_counter() - start))
            stoppers[k].update(number, histories[k][-1]["val_loss"], members[k])
        going = [i for i, k in enumerate(live) if k not in failed and not stoppers[k].stopped]
        if on_epoch:
            on_epoch(phase, epoch, statistics.median(stoppers[k].best for k in live if k not in failed) if any(
                k not in failed for k in live) else math.nan)
        if not going:
            return
        if len(going) < len(live):
            trainer.keep(going)
            live = [live[i] for i in going]



class SingleTrainer:
    """One model seen as a stack of one, so that a single model and a stack train through the same
    epoch loop (`train_phase`): each epoch is `train_epoch` on the model's own data and streams."""

    def __init__(self, config, model, optimizer, generator, data):
        x_train, x_val, x_train_eval, binarise = data            # as `training_data` returns them
        self.configs, self.val_x, self.train_eval_x = [config], [x_val], [x_train_eval]
        self.pass_args = (model, optimizer, x_train, config.batch_size, generator, config.likelihood, config.beta,
                          binarise)

    def train_epoch(self):
        """(1, 3): the epoch's mean [loss, recon, kl], exactly as `train_epoch` returns them."""
        return torch.tensor([train_epoch(*self.pass_args)], dtype=torch.float64)

    def write_back(self):
        """Nothing to copy: the model is trained in place."""


def train_phases(configs, trainer, members, annealer, label, progress=True, on_epoch=None):
    """Both phases of training, for one model or a stack: the first from `trainer` (over all
    `configs`, whose `members` it trains in place) until each member stops, its best epoch
    restored; then, for the members whose config has `anneal`, the annealing phase from there in
    `annealer(positions)` (the trainer of those members: a fresh Adam at lr × anneal and the
    phase's own streams, `anneal_seed`), at most `max_epochs` more epochs under the same rule, the
    best epoch of either phase kept. Returns (histories, stopping records and errors by position,
    seconds); a member whose loss stopped being finite has an error instead of a record."""
    histories, failed, stopping = [[] for _ in configs], {}, {}
    stoppers = [EarlyStopping(c.patience, c.min_delta) for c in configs]
    start = time.perf_counter()
    train_phase(trainer, configs, members, histories, stoppers, failed, [0] * len(configs), start, label, progress,
                on_epoch)
    live = [k for k in range(len(configs)) if k not in failed]
    for k in live:
        stoppers[k].restore(members[k])
        stopping[k] = stoppers[k].summary(len(histories[k]), configs[k].max_epochs)
    annealed = [k for k in live if configs[k].anneal is not None]
    if annealed:
        first = [len(h) for h in histories]
        second = {k: EarlyStopping.resumed(configs[k].patience, configs[k].min_delta, stopping[k]["best_epoch"],
                                           min(h["val_loss"] for h in histories[k]), members[k], first[k])
                  for k in annealed}
        train_phase(annealer(annealed), configs, members, histories, second, failed, first, start,
                    f"{label} annealed", progress, on_epoch, "anneal")
        for k in annealed:
            if k not in failed:
                second[k].restore(members[k])
                stopping[k] = annealed_stopping(stopping[k], second[k].summary(
                    len(histories[k]), first[k] + configs[k].max_epochs), first[k])
    return histories, {**stopping, **failed}, time.perf_counter() - start


def annealed_stopping(first, second, phase_one):
    """The stopping record over both phases: `first` and `second` summaries, the second
    phase starting after epoch `phase_one`."""
    return {**second, "annealed_after": phase_one, "hit_cap": first["hit_cap"] or not second["stopped_early"]}


def fit(config, device=None, progress=True, on_epoch=None):
    """Train `config` from scratch until its validation loss stops improving (or the epoch cap),
    then its annealing phase when it has one (`train_phases`); return the best epoch's model, the
    history and the test metrics.

    Raises FloatingPointError (naming the config and the epoch) when the loss stops being finite.
    `on_epoch(phase, epoch, best)` is told of each epoch (`progress.TrainingProgress.epoch`).
    """
    config.validate()
    device = pick_device(device)
    data = training_data(config, device)
    model, generator = init_model(config)
    model.to(device)

    def annealer(_positions):
        return SingleTrainer(config, model, make_optimizer(model, config.lr * config.anneal),
                             seed_everything(anneal_seed(config)), data)

    histories, outcome, seconds = train_phases([config], SingleTrainer(config, model, make_optimizer(model, config.lr),
                                                                       generator, data),
                                               [model], annealer, config.label(), progress, on_epoch)
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    model = model.cpu().eval()
    test = test_metrics(model, config, load_dataset(config.dataset).test_x)
    return FitResult(model, config, histories[0], seconds, test, stopping=outcome[0])
