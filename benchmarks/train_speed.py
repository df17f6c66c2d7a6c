"""Training-speed benchmark: vae_utils vs the study's loop vs the machine's matmul roofline.

    python benchmarks/train_speed.py [--samples N] [--repeats R] [--device cpu|cuda]

(a) vae_utils: in-memory batches, BCE-with-logits, fused Adam (`training.train_epoch`);
(b) the study's way: torchvision DataLoader + per-sample ToTensor, sigmoid + BCE, plain Adam,
    and each logged metric (BCE, MSE, L1) recomputed in its own forward pass with autograd on;
(c) float32 throughput of a large torch.mm;
(d) vae_utils.engine.stacked: K members (K repeats' worth of configs) trained as one stacked model,
    its step captured in a CUDA graph on a GPU.
Each figure is the median of `repeats` timed runs after one warm-up. Writes results/bench.csv;
the last lines printed are `stacked_share_of_matmul=<x>` (the stacked step's GFLOP/s over the
matmul's), `stacked_vs_single=<x>` (stacked samples/s over one model's, K
members) and `speedup_vs_seed=<x> roofline_fraction=<y>`, for the reference model (VAE, MNIST,
n_layers=2, d_z=2, batch 100).

`--paper-setting` also times one setting of the paper protocol end to end (VAE, MNIST,
n_layers=2, d_z=2, 10 repeats on the full training set, 200 epochs, batch 100): run for real
on a GPU; on a CPU extrapolated from 1- and 2-epoch runs, and labelled so.

`--paper-profile` times a fixed slice of the whole paper profile and extrapolates it: the models
are those the paper profile's dry run trained (`make all PROFILE=paper DRY=1`, whose cache lists
every model of every run); each architecture's stacked training rate is timed for one epoch of
up to 10 members on 2,000 images each, and the profile's training time is the sum over models of
epochs × (training + validation images) at that rate. The assumptions are printed with it.

`--bf16` only times the stacked epoch (10 reference VAEs, 2,000 images each; the 2-layer and the
d_z = 50 one) in float32 and under bfloat16 autocast (float32 master weights), alternated, and
prints `bf16_vs_fp32=<x>` per architecture (> 1: bfloat16 is faster): whether the processor's
bfloat16 products would pay before any verdict is checked with them.
"""
import argparse
import collections
import json
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vae_utils.config import protocol  # noqa: E402
from vae_utils.config.paths import published_dir, results_dir  # noqa: E402
from vae_utils.core.data import load_dataset, torchvision_root  # noqa: E402
from vae_utils.core.models import VAE  # noqa: E402
from vae_utils.engine.reproducibility import pick_device, seed_everything  # noqa: E402
from vae_utils.engine.stacked import StackedTrainer, fit_stacked  # noqa: E402
from vae_utils.engine.training import TrainConfig, make_optimizer, train_epoch  # noqa: E402
from vae_utils.metrics.likelihood import importance_weighted_bound  # noqa: E402

BATCH = 100
MATMUL_N = 4096                     # the roofline: a 4096 x 4096 float32 matmul
MODELS = {"reference (n_layers=2, d_z=2)": 2, "deep (n_layers=7, d_z=2)": 7}


def training_flops_per_sample(model):
    """≈ 3 × forward multiply-adds × 2 FLOPs (forward, backward for inputs and for weights)."""
    macs = sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear))
    return 6 * macs


def timed(fn, device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def median_time(fn, repeats, device):
    fn()                                             # warm-up
    return statistics.median(timed(fn, device) for _ in range(repeats))


def ours_and_stacked(n_layers, x, members, repeats, device):
    """Samples/s of one model's epoch on `x`, of `members` stacked VAEs' epoch (about as many
    images in all, a multiple of the batch each), and the GFLOP/s of a large float32 matmul,
    timed in alternation so that a machine's drifting speed hits all three alike."""
    n_train = max(1000, len(x) // members // 1000 * 1000)    # 9/10 of it trains: whole batches
    model = VAE(784, 2, n_layers).to(device)
    optimizer = make_optimizer(model, 1e-3)
    gen = torch.Generator().manual_seed(0)
    configs = [TrainConfig(dataset="mnist", model="vae", n_layers=n_layers, d_z=2, repeat=k, n_train=n_train)
               for k in range(members)]
    trainer = StackedTrainer(configs, load_dataset("mnist"), device)
    single = lambda: train_epoch(model, optimizer, x, BATCH, gen, "bernoulli", 1.0)
    a, b = torch.randn(MATMUL_N, MATMUL_N, device=device), torch.randn(MATMUL_N, MATMUL_N, device=device)
    matmul = lambda: torch.mm(a, b)
    single(), trainer.train_epoch(), matmul()        # warm-up (and, on CUDA, the graph capture)
    runs = [(timed(single, device), timed(trainer.train_epoch, device), timed(matmul, device))
            for _ in range(repeats)]
    one, stack, mm = (statistics.median(t) for t in zip(*runs))
    return len(x) / one, trainer.train_idx.numel() / stack, 2 * MATMUL_N ** 3 / mm / 1e9


def paper_configs(epochs):
    return [TrainConfig(dataset="mnist", model="vae", n_layers=2, d_z=2, repeat=k, max_epochs=epochs,
                        patience=epochs, batch_size=BATCH, lr=1e-3) for k in range(10)]   # no early stop


def paper_setting_seconds(epochs, device):
    """Wall time of one paper-protocol setting trained for `epochs`: data, 10 stacked repeats,
    per-epoch validation, test."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fit_stacked(paper_configs(epochs), device=device, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def paper_setting(device):
    """Wall time of one paper-protocol setting (measured on a GPU, extrapolated on a CPU)."""
    if device.type == "cuda":
        return paper_setting_seconds(200, device), "measured"
    one, two = paper_setting_seconds(1, device), paper_setting_seconds(2, device)
    return one + 199 * (two - one), f"extrapolated from 1- and 2-epoch runs ({one:.1f} s, {two:.1f} s)"


def paper_profile_models():
    """The TrainConfig fields of every model of the paper profile, from its dry run's cache."""
    folder = published_dir("paper-dry", create=False) / "models"
    configs = [json.loads(p.read_text())["config"] for p in folder.glob("*/run.json")
               if not p.parent.name.startswith("classifier-")]     # the AEs and VAEs, not the classifiers
    if not configs:
        sys.exit(f"--paper-profile needs the paper profile's dry run: no models in {folder}; "
                 f"run `make all PROFILE=paper DRY=1` first")
    return configs


def stacked_rate(arch, device, members=10, images=2000):
    """Training samples/s of `members` stacked models of architecture `arch` for one epoch (after a warm-up)."""
    dataset, model, n_layers, d_z, batch_size, likelihood = arch
    n = len(load_dataset(dataset).train_x)
    n_train = min(images, n // members)
    configs = [TrainConfig(dataset=dataset, model=model, n_layers=n_layers, d_z=d_z, batch_size=batch_size,
                           likelihood=likelihood, repeat=k, n_train=n_train) for k in range(members)]
    trainer = StackedTrainer(configs, load_dataset(dataset), device)
    trainer.train_epoch()
    return trainer.train_idx.numel() / timed(trainer.train_epoch, device)


def bf16_speed(device, repeats, members=10, images=2000):
    """Stacked-epoch seconds in float32 and under bfloat16 autocast, alternated (medians)."""
    rows = []
    for n_layers, d_z in ((2, 2), (2, 50)):
        configs = [TrainConfig(dataset="mnist", model="vae", n_layers=n_layers, d_z=d_z, repeat=k, n_train=images)
                   for k in range(members)]
        trainer = StackedTrainer(configs, load_dataset("mnist"), device)

        def bf16(trainer=trainer):
            with torch.autocast(device.type, dtype=torch.bfloat16):
                trainer.train_epoch()
        trainer.train_epoch(), bf16()                                   # warm-up both
        runs = [(timed(trainer.train_epoch, device), timed(bf16, device)) for _ in range(repeats)]
        fp32, half = (statistics.median(t) for t in zip(*runs))
        rows.append({"n_layers": n_layers, "d_z": d_z, "members": members, "images_per_member": images,
                     "fp32_s": fp32, "bf16_autocast_s": half, "bf16_vs_fp32": fp32 / half, "device": str(device),
                     "threads": torch.get_num_threads(), "repeats": repeats})
    table = pd.DataFrame(rows)
    print(table.round(3).to_string(index=False))
    for row in rows:
        print(f"bf16_vs_fp32={row['bf16_vs_fp32']:.2f} (n_layers={row['n_layers']}, d_z={row['d_z']})")
    return table


def paper_profile(device):
    """Extrapolated training time of the whole paper profile (see the module docstring)."""
    configs = paper_profile_models()
    groups = collections.Counter((c["dataset"], c["model"], c["n_layers"], c["d_z"], c["batch_size"], c["likelihood"])
                                 for c in configs)
    # the end-to-end slice: one setting (VAE, MNIST, n_layers 2, d_z 2, 10 repeats, all images) for 1 and 2
    # epochs through fit_stacked; its per-epoch time over the bare stacked rate's is the overhead factor
    per_epoch = paper_setting_seconds(2, device) - paper_setting_seconds(1, device)
    bare = 10 * len(load_dataset("mnist").train_x) / stacked_rate(("mnist", "vae", 2, 2, 100, "bernoulli"), device)
    factor = max(1.0, per_epoch / bare)
    print(f"slice end to end: {per_epoch:.2f} s per epoch of 10 stacked reference VAEs on 60,000 images; "
          f"bare stacked rate predicts {bare:.2f} s: overhead factor {factor:.2f} applied to every architecture")
    rows, total = [], 0.0
    for arch, count in sorted(groups.items(), key=str):
        dataset = arch[0]
        cap = protocol.load("paper", dataset)["max_epochs"]
        images = len(load_dataset(dataset).train_x)          # training + validation, every epoch
        rate = stacked_rate(arch, device)
        seconds = factor * count * cap * images / rate
        total += seconds
        rows.append({"dataset": dataset, "model": arch[1], "n_layers": arch[2], "d_z": arch[3], "batch": arch[4],
                     "likelihood": arch[5], "models": count, "epoch_cap": cap, "samples_per_s": round(rate),
                     "hours_at_cap": seconds / 3600})
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(2).to_string(index=False))
    iw = importance_weighted_bound_seconds(device)
    print(f"paper profile ({device.type}): {len(configs)} models in {len(groups)} architectures; training at the "
          f"epoch cap {total / 3600:.1f} h; the importance-weighted bound at k = 5,000 (notebook 3, binarised MNIST, "
          f"{groups_vaes(configs)} VAEs x 10,000 test images) {iw * groups_vaes(configs) / 3600:.1f} h")
    print("assumptions: every model trains to its epoch cap (200; Frey Face 2,000): early stopping ends sooner, "
          "so this is an upper bound; models of one architecture train in stacks of 10 at the rate timed here "
          "(one epoch, 2,000 images per member), times the slice's overhead factor (validation, shuffling, the "
          "stacks' bookkeeping); the test evaluation, latent scores, sample quality, figures and kernel start-up "
          "are not included")
    return table


def groups_vaes(configs):
    return sum(c["dataset"] == "binarized_mnist" and c["model"] == "vae" for c in configs)


def importance_weighted_bound_seconds(device, k=5000, images=20):
    """Seconds of the k-sample bound of one VAE (n_layers 2, d_z 20) on the 10,000 test images, timed on `images`."""
    x = load_dataset("binarized_mnist").test_x[:images].to(device)
    model = VAE(784, 20, 2).to(device)
    return timed(lambda: importance_weighted_bound(model, x, "bernoulli", k), device) * 10000 / images


class StudyVAE(VAE):
    """The study's model: same widths, but a sigmoid output trained with plain BCE."""

    def forward(self, x, sample=True):
        out = super().forward(x, sample)
        return torch.sigmoid(out.logits), out.mu, out.logvar


def study(n_layers, dataset, repeats, device):
    model = StudyVAE(784, 2, n_layers).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True)

    def epoch():
        model.train()
        for xb, _ in loader:
            xb = xb.view(len(xb), -1).to(device)
            x_hat, mu, logvar = model(xb)
            recon = F.binary_cross_entropy(x_hat, xb, reduction="sum")
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = (recon + kl) / len(xb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            # the study logged each metric from its own forward pass, with autograd on
            for metric in (F.binary_cross_entropy, F.mse_loss, F.l1_loss):
                logged.append(metric(model(xb)[0], xb).item())
    logged = []
    return len(dataset) / median_time(epoch, repeats, device)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20000, help="training images per timed epoch")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (after one warm-up)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--members", type=int, default=10, help="models per stack (default 10)")
    parser.add_argument("--paper-setting", action="store_true",
                        help="also time one setting of the paper protocol (extrapolated on a CPU)")
    parser.add_argument("--paper-profile", action="store_true",
                        help="only extrapolate the whole paper profile from a timed slice (needs its dry run)")
    parser.add_argument("--bf16", action="store_true",
                        help="only time the stacked epoch in float32 against bfloat16 autocast")
    args = parser.parse_args()
    if args.bf16:
        device = pick_device(args.device)
        table = bf16_speed(device, args.repeats)
        path = results_dir("default") / f"bench-bf16-{device.type}.csv"
        table.to_csv(path, index=False, float_format="%.4g")
        print(f"written to {path}")
        return
    if args.paper_profile:
        table = paper_profile(pick_device(args.device))
        path = results_dir("default") / "bench-paper-profile.csv"
        table.to_csv(path, index=False, float_format="%.4g")
        print(f"written to {path}")
        return
    if args.samples < BATCH or args.repeats < 1 or args.members < 1:
        parser.error(f"--samples must be >= {BATCH}, --repeats >= 1 and --members >= 1")
    device = pick_device(args.device)
    seed_everything(0)
    x = load_dataset("mnist").train_x[:args.samples].to(device)
    tv = datasets.MNIST(str(torchvision_root(datasets.MNIST)), train=True, transform=transforms.ToTensor())
    study_data = Subset(tv, range(args.samples))
    rows = []
    for name, n_layers in MODELS.items():
        ours_sps, stacked_sps, roof = ours_and_stacked(n_layers, x, args.members, args.repeats, device)
        flops = training_flops_per_sample(VAE(784, 2, n_layers))
        study_sps = study(n_layers, study_data, args.repeats, device)
        rows.append({"model": name, "device": str(device), "vae_utils_samples_per_s": ours_sps,
                     "study_loop_samples_per_s": study_sps, "speedup_vs_seed": ours_sps / study_sps,
                     "stacked_members": args.members, "stacked_samples_per_s": stacked_sps,
                     "stacked_vs_single": stacked_sps / ours_sps,
                     "train_mflop_per_sample": flops / 1e6, "achieved_gflops": ours_sps * flops / 1e9,
                     "matmul_gflops": roof, "roofline_fraction": ours_sps * flops / 1e9 / roof,
                     "stacked_roofline_fraction": stacked_sps * flops / 1e9 / roof,
                     "threads": torch.get_num_threads(), "samples": args.samples, "repeats": args.repeats})
    table = pd.DataFrame(rows)
    path = results_dir("default") / ("bench.csv" if device.type == "cpu" else f"bench-{device.type}.csv")
    table.to_csv(path, index=False, float_format="%.4g")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).to_string(index=False))
    print(f"written to {path}")
    if args.paper_setting:
        seconds, how = paper_setting(device)
        print(f"paper setting (VAE, MNIST, n_layers=2, d_z=2, 10 repeats x 200 epochs x 54k images, "
              f"{device.type}): {seconds:.0f} s ({seconds / 60:.1f} min), {how}")
    ref = rows[0]
    print(f"stacked_share_of_matmul={ref['stacked_roofline_fraction']:.2f} (the stacked step at "
          f"{ref['stacked_samples_per_s'] * ref['train_mflop_per_sample'] / 1e3:.0f} GFLOP/s against "
          f"{ref['matmul_gflops']:.0f} for a {MATMUL_N}² matmul)")
    print(f"stacked_vs_single={ref['stacked_vs_single']:.2f}")
    print(f"speedup_vs_seed={ref['speedup_vs_seed']:.2f} roofline_fraction={ref['roofline_fraction']:.2f}")


if __name__ == "__main__":
    main()
