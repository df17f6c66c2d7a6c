"""Train K configs of one architecture as one model whose weights have a leading member axis.

Members may differ in repeat, seed, β and prior. Each gets exactly what `training.fit` would
give it: the same initial weights, training indices and shuffling order (and, on the CPU,
the same noise), its own Adam state (Adam works element by element) and its own
finiteness check. The loss is the sum of the members' losses, so each member's gradient is
its own loss's. On CUDA the whole step (batch gather, forward, backward, fused Adam) is
captured once in a CUDA graph and replayed, with no host sync inside an epoch. A config's
annealing phase (`anneal`) is a second stack of the same members, as `training.train_phases` runs it.
"""

import torch
from torch import nn

from ..core.data import binarise_batch, binariser, config_split, load_dataset
from ..core.losses import loss_terms
from ..core.models import forward_pass
from .reproducibility import pick_device, seed_everything
from .training import (
    FitResult,
    anneal_seed,
    init_model,
    make_optimizer,
    test_metrics,
    train_eval_subset,
    train_phases,
)

STACKABLE_FIELDS = ("repeat", "seed", "beta", "prior_mean", "prior_std")
WARMUP_STEPS = 3       # eager steps on a side stream before the CUDA graph is captured


def stack_key(config):
    """Configs with equal keys share an architecture and protocol, so they can share a stack."""
    return tuple((k, v) for k, v in sorted(config.to_dict().items()) if k not in STACKABLE_FIELDS)


def stack_groups(configs, max_members):
    """`configs` in stackable groups of at most `max_members`, in first-seen order.

    A group shares the stack key and the sizes of the training and validation sets.
    """
    if max_members < 1:
        raise ValueError(f"max_members={max_members} is not allowed; it must be >= 1")
    groups = {}
    for c in configs:
        n = len(load_dataset(c.dataset).train_x)
        sizes = tuple(len(part) for part in config_split(c, n))
        groups.setdefault((stack_key(c), sizes), []).append(c)
    return [g[i:i + max_members] for g in groups.values() for i in range(0, len(g), max_members)]


class StackedLinear(nn.Module):
    """K independent linear layers of one shape, applied to K batches with one baddbmm."""

    def __init__(self, layers):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([layer.weight.detach().t() for layer in layers]))
        self.bias = nn.Parameter(torch.stack([layer.bias.detach() for layer in layers]).unsqueeze(1))

    def forward(self, x):                       # (K, batch, in) -> (K, batch, out)
        return torch.baddbmm(self.bias, x, self.weight)

    @torch.no_grad()
    def write_back(self, layers):
        for layer, weight, bias in zip(layers, self.weight, self.bias):
            layer.weight.copy_(weight.t())
            layer.bias.copy_(bias[0])


def stack_modules(modules):
    """One stacked module for K modules of the same structure (Linear, ReLU, Identity, Sequential)."""
    first = modules[0]
    if isinstance(first, nn.Linear):
        return StackedLinear(modules)
    if isinstance(first, nn.Sequential):
        return nn.Sequential(*(stack_modules([m[i] for m in modules]) for i in range(len(first))))
    if isinstance(first, (nn.ReLU, nn.Identity)):
        return type(first)()
    raise TypeError(f"cannot stack a {type(first).__name__}")


class StackedAutoencoder(nn.Module):
    """K AEs or K VAEs of one architecture; `write_back` copies the weights into the K models."""

    def __init__(self, members):
        super().__init__()
        self.kind, self.members = members[0].kind, members
        self.parts = ["encoder", "decoder"] + (["mu_head", "logvar_head"] if self.kind == "vae" else [])
        for part in self.parts:
            setattr(self, part, stack_modules([getattr(m, part) for m in members]))
        if self.kind == "vae":
            self.register_buffer("prior_mean", torch.stack([m.prior_mean for m in members]).unsqueeze(1))
            self.register_buffer("prior_std", torch.stack([m.prior_std for m in members]).unsqueeze(1))
        self.log_scale = (None if members[0].log_scale is None else           # (K, 1, 1): one σ per member
                          nn.Parameter(torch.stack([m.log_scale.detach() for m in members]).unsqueeze(1)))

    def forward(self, x, eps=None):             # x: (K, batch, d_x); eps: (K, batch, d_z) for a VAE
        return forward_pass(self, x, eps)

    def write_back(self):
        for part in self.parts:
            stacked = [m for m in getattr(self, part).modules() if isinstance(m, StackedLinear)]
            singles = [[m for m in getattr(member, part).modules() if isinstance(m, nn.Linear)]
                       for member in self.members]
            for k, layer in enumerate(stacked):
                layer.write_back([layers[k] for layers in singles])
        if self.log_scale is not None:
            with torch.no_grad():
                for member, log_scale in zip(self.members, self.log_scale):
                    member.log_scale.copy_(log_scale[0])


class MemberStreams:
    """What each member of a stack has of its own: its model (fresh, or the one it goes on from),
    its training and validation images, and its shuffling, noise and binarisation streams, drawn
    as `fit` draws them for one model."""

    def __init__(self, configs, data, device, start=None):
        """`start`: None, fresh models as `fit` draws them; or per member (model, seed), the model
        to go on from and the seed of its streams (`seed_everything(seed)` draws them)."""
        splits = [config_split(c, len(data.train_x)) for c in configs]
        if len({(len(t), len(v)) for t, v in splits}) > 1:
            raise ValueError("stacked configs need training and validation sets of equal sizes")
        self.models, self.shufflers, self.noise = [], [], []
        for i, c in enumerate(configs):
            if start is None:
                model, shuffler = init_model(c)          # the same draws as `fit`
                seed = c.seed * 1000 + c.repeat
            else:
                model, seed = start[i]
                shuffler = seed_everything(seed)
            noise = torch.Generator(device)
            if device.type == "cpu":                           # `fit` samples from the global stream
                noise.set_state(torch.get_rng_state())
            else:
                noise.manual_seed(seed)
            self.models.append(model.to(device))
            self.shufflers.append(shuffler)
            self.noise.append(noise)
        self.binarisers = [binariser(c, device) for c in configs] if data.train_p is not None else []
        self.train_idx = torch.stack([t for t, _ in splits])
        self.val_x = [data.train_x[v].to(device) for _, v in splits]
        self.train_eval_x = [data.train_x[train_eval_subset(t, len(v))].to(device) for t, v in splits]

    def orders(self):
        """Each member's order of its training images for the next epoch, from its own shuffler."""
        return torch.stack([idx[torch.randperm(len(idx), generator=g)]
                            for idx, g in zip(self.train_idx, self.shufflers)])

    def keep(self, positions):
        """Only the members at `positions`, each with what it had."""
        def pick(items):
            return [items[i] for i in positions] if items else items
        self.models, self.shufflers, self.noise, self.binarisers, self.val_x, self.train_eval_x = map(
            pick, (self.models, self.shufflers, self.noise, self.binarisers, self.val_x, self.train_eval_x))
        self.train_idx = self.train_idx.index_select(0, torch.tensor(positions))


class StackedTrainer:
    """The stacked model and its optimizer over the members' own data and streams
    (`MemberStreams`), trained one epoch at a time."""

    def __init__(self, configs, data, device, start=None, lr=None, distinct=True):
        """`start` and `lr`: None, a first phase from fresh models at their configs' learning rate;
        or per member (model, seed) to go on from at learning rate `lr` (`MemberStreams`): the
        annealing phase (`annealer`) or the continuation check. `distinct=False` lets one config
        be several members (its continuations under several streams)."""
        check_stackable(configs, distinct)
        first = configs[0]
        self.configs, self.device, self.batch = configs, device, first.batch_size
        self.streams = MemberStreams(configs, data, device, start)
        self.val_x, self.train_eval_x = self.streams.val_x, self.streams.train_eval_x   # what `train_phase` reads
        self.model = StackedAutoencoder(self.members).to(device)
        self.lr = first.lr if lr is None else lr
        self.optimizer = make_optimizer(self.model, self.lr, capturable=device.type == "cuda")
        self.likelihood, self.d_z = first.likelihood, first.d_z
        self.beta = torch.tensor([float(c.beta) for c in configs], device=device)
        self.dynamic = data.train_p is not None       # binarised anew each batch (data.binarise_batch)
        self.x = (data.train_p if self.dynamic else data.train_x).to(device)
        self.n_full, self.rest = divmod(self.streams.train_idx.shape[1], self.batch)
        # Static buffers: the step reads them, so a captured graph sees each epoch's values.
        k = len(configs)
        self.order = torch.empty(k, self.streams.train_idx.shape[1], dtype=torch.long, device=device)
        self.step_no = torch.zeros(1, dtype=torch.long, device=device)
        self.offsets = torch.arange(self.batch, device=device)
        self.sums = torch.zeros(k, 3, device=device)
        self.graph, self.eager_steps = None, 0
        if device.type == "cuda" and self.kind == "vae":
            self.eps = torch.empty(k, self.n_full, self.batch, self.d_z, device=device)
        if device.type == "cuda" and self.dynamic:      # each epoch's binarisation noise, drawn up front
            self.uniform = torch.empty(k, self.n_full, self.batch, self.x.shape[1], device=device)

    @property
    def members(self):
        return self.streams.models

    @property
    def kind(self):
        return self.model.kind

    def noise_for(self, size):
        """Each member's ε for its next batch: drawn now (CPU, last batch) or from the epoch's draw."""
        if self.kind == "ae":
            return None
        if self.device.type == "cuda" and size == self.batch:
            return self.eps.index_select(1, self.step_no).squeeze(1)
        return torch.stack([torch.randn(size, self.d_z, generator=g, device=self.device) for g in self.streams.noise])

    def binarised(self, p, size):
        """Dynamic binarisation of the batch probabilities `p` (K, size, d_x), member by member."""
        if self.device.type == "cuda" and size == self.batch:
            return (self.uniform.index_select(1, self.step_no).squeeze(1) < p).float()
        return torch.stack([binarise_batch(pk, g) for pk, g in zip(p, self.streams.binarisers)])

    def step(self, size):
        """One Adam step of every member on its next batch of `size` images; no host sync."""
        positions = self.step_no * self.batch + self.offsets[:size]
        xb = self.x[self.order[:, positions]]                 # (K, size, d_x)
        if self.dynamic:
            xb = self.binarised(xb, size)
        out = self.model(xb, self.noise_for(size))
        terms = loss_terms(self.model, out, xb, self.likelihood, self.beta)
        self.optimizer.zero_grad(set_to_none=True)
        terms["loss"].sum().backward()                        # member k's gradient is its own loss's
        self.optimizer.step()
        self.sums += torch.stack([terms["loss"], terms["recon"], terms["kl"]], 1).detach() * size
        self.step_no += 1

    @torch.no_grad()
    def keep(self, positions):
        """Go on with the members at `positions` only (the others have stopped or failed), so no
        step is spent on a finished member. What each kept member has (weights, Adam state,
        data, shuffling and noise streams) carries over unchanged."""
        idx = torch.tensor(positions, device=self.device)
        old = list(self.model.parameters())
        states = [self.optimizer.state.get(p, {}) for p in old]
        for layer in self.model.modules():
            if isinstance(layer, StackedLinear):
                layer.weight = nn.Parameter(layer.weight.index_select(0, idx))
                layer.bias = nn.Parameter(layer.bias.index_select(0, idx))
        if self.model.log_scale is not None:
            self.model.log_scale = nn.Parameter(self.model.log_scale.index_select(0, idx))
        if self.kind == "vae":
            self.model.prior_mean = self.model.prior_mean.index_select(0, idx)
            self.model.prior_std = self.model.prior_std.index_select(0, idx)
        self.optimizer = make_optimizer(self.model, self.lr, capturable=self.device.type == "cuda")
        for param, state in zip(self.model.parameters(), states):
            if state:
                self.optimizer.state[param] = {name: value if value.dim() == 0 else value.index_select(0, idx)
                                               for name, value in state.items()}
        self.configs = [self.configs[i] for i in positions]
        self.streams.keep(positions)
        self.val_x, self.train_eval_x = self.streams.val_x, self.streams.train_eval_x
        self.model.members = self.members
        self.beta = self.beta.index_select(0, idx)
        self.order = self.order.index_select(0, idx)
        self.sums = torch.zeros(len(positions), 3, device=self.device)
        if hasattr(self, "eps"):
            self.eps = self.eps.index_select(0, idx)
        if hasattr(self, "uniform"):
            self.uniform = self.uniform.index_select(0, idx)
        self.graph, self.eager_steps = None, 0            # a CUDA graph is captured anew

    def full_step(self):
        """`step(batch)`: eager on the CPU; on CUDA a few eager warm-up steps, then graph replays."""
        if self.device.type != "cuda":
            return self.step(self.batch)
        if self.graph is None and self.eager_steps < WARMUP_STEPS:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self.step(self.batch)
            torch.cuda.current_stream().wait_stream(side)
            self.eager_steps += 1
            return
        if self.graph is None:
            self.graph = torch.cuda.CUDAGraph()
            self.optimizer.zero_grad(set_to_none=True)
            with torch.cuda.graph(self.graph):
                self.step(self.batch)
        self.graph.replay()

    def write_back(self):
        """Copy the stacked weights back into each member model (`StackedAutoencoder.write_back`)."""
        self.model.write_back()

    def train_epoch(self):
        """One pass of every member over its own training set; (K, 3) means of [loss, recon, kl]."""
        self.model.train()
        self.order.copy_(self.streams.orders())
        self.sums.zero_()
        self.step_no.zero_()
        if self.device.type == "cuda" and self.kind == "vae":
            for eps, g in zip(self.eps, self.streams.noise):
                eps.normal_(generator=g)
        if self.device.type == "cuda" and self.dynamic:
            for uniform, g in zip(self.uniform, self.streams.binarisers):
                uniform.uniform_(generator=g)
        for _ in range(self.n_full):
            self.full_step()
        if self.rest:
            self.step(self.rest)
        return (self.sums / self.streams.train_idx.shape[1]).cpu()      # the epoch's one host sync


def check_stackable(configs, distinct=True):
    """Raise ValueError unless `configs` (distinct ones, unless `distinct` is False) differ only in
    STACKABLE_FIELDS."""
    if not configs:
        raise ValueError("a stack needs at least one config")
    if distinct and len(set(configs)) != len(configs):
        raise ValueError("a stack cannot hold the same config twice")
    if len({stack_key(c) for c in configs}) > 1:
        raise ValueError(f"stacked configs may differ only in {', '.join(STACKABLE_FIELDS)}")


def fit_stacked(configs, device=None, progress=True, on_epoch=None):
    """Train `configs` as one stack; per config a FitResult as `fit` gives, or the error that
    stopped it (FloatingPointError when its loss stopped being finite; the others go on). A
    config's annealing phase (`anneal`) is a second stack of the members that reached it."""
    for c in configs:
        c.validate()
    check_stackable(configs)
    device = pick_device(device)
    data = load_dataset(configs[0].dataset)
    trainer = StackedTrainer(configs, data, device)
    members = list(trainer.members)

    def annealer(positions):
        return StackedTrainer([configs[k] for k in positions], data, device,
                              start=[(members[k], anneal_seed(configs[k])) for k in positions],
                              lr=configs[0].lr * configs[0].anneal)

    histories, outcome, seconds = train_phases(configs, trainer, members, annealer,
                                               f"{len(configs)} stacked: {configs[0].label()}", progress, on_epoch)
    results = []
    for k, (config, member) in enumerate(zip(configs, members)):
        if isinstance(outcome[k], Exception):
            results.append(outcome[k])
            continue
        test = test_metrics(member, config, data.test_x)
        results.append(FitResult(member.cpu().eval(), config, histories[k], seconds / len(configs),
                                 test, stack_size=len(configs), stopping=outcome[k]))
    return results
