"""Training-speed benchmark: vae_utils vs the study's loop vs the machine's matmul roofline.

    python benchmarks/train_speed.py [--samples N] [--repeats R] [--device cpu|cuda]

(a) vae_utils: in-memory batches, BCE-with-logits, fused Adam (`training.train_epoch`);
(b) the study's way: torchvision DataLoader + per-sample ToTensor, sigmoid + BCE, plain Adam,
    and each logged metric (BCE, MSE, L1) recomputed in its own forward pass with autograd on;
(c) float32 throughput of a large torch.mm.
Each figure is the median of `repeats` timed runs after one warm-up. Writes results/bench.csv;
the last line printed is `speedup_vs_seed=<x> roofline_fraction=<y>` for the reference model
(VAE, MNIST, n_layers=2, d_z=2, batch 100).
"""
import argparse
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
from vae_utils.data import torchvision_root, load_dataset  # noqa: E402
from vae_utils.models import VAE  # noqa: E402
from vae_utils.paths import results_dir  # noqa: E402
from vae_utils.reproducibility import pick_device, seed_everything  # noqa: E402
from vae_utils.training import make_optimizer, train_epoch  # noqa: E402

BATCH = 100
MODELS = {"reference (n_layers=2, d_z=2)": 2, "deep (n_layers=7, d_z=2)": 7}


def training_flops_per_sample(model):
    """≈ 3 × forward multiply-adds × 2 FLOPs (forward, backward for inputs and for weights)."""
    macs = sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear))
    return 6 * macs


def median_time(fn, repeats, device):
    fn()                                             # warm-up
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ours(n_layers, x, repeats, device):
    model = VAE(784, 2, n_layers).to(device)
    optimizer = make_optimizer(model, 1e-3)
    gen = torch.Generator().manual_seed(0)
    seconds = median_time(lambda: train_epoch(model, optimizer, x, BATCH, gen, "bernoulli", 1.0),
                          repeats, device)
    return len(x) / seconds, training_flops_per_sample(model)


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


def matmul_gflops(device, n=4096, repeats=5):
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    return 2 * n ** 3 / median_time(lambda: torch.mm(a, b), repeats, device) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20000, help="training images per timed epoch")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (after one warm-up)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    args = parser.parse_args()
    if args.samples < BATCH or args.repeats < 1:
        parser.error(f"--samples must be >= {BATCH} and --repeats >= 1")
    device = pick_device(args.device)
    seed_everything(0)
    x = load_dataset("mnist").train_x[:args.samples].to(device)
    tv = datasets.MNIST(str(torchvision_root(datasets.MNIST)), train=True, transform=transforms.ToTensor())
    study_data = Subset(tv, range(args.samples))
    roof = matmul_gflops(device)
    rows = []
    for name, n_layers in MODELS.items():
        ours_sps, flops = ours(n_layers, x, args.repeats, device)
        study_sps = study(n_layers, study_data, args.repeats, device)
        rows.append({"model": name, "device": str(device), "vae_utils_samples_per_s": ours_sps,
                     "study_loop_samples_per_s": study_sps, "speedup_vs_seed": ours_sps / study_sps,
                     "train_mflop_per_sample": flops / 1e6, "achieved_gflops": ours_sps * flops / 1e9,
                     "matmul_gflops": roof, "roofline_fraction": ours_sps * flops / 1e9 / roof,
                     "threads": torch.get_num_threads(), "samples": args.samples, "repeats": args.repeats})
    table = pd.DataFrame(rows)
    path = results_dir("default") / ("bench.csv" if device.type == "cpu" else f"bench-{device.type}.csv")
    table.to_csv(path, index=False, float_format="%.4g")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.round(3).to_string(index=False))
    print(f"written to {path}")
    ref = rows[0]
    print(f"speedup_vs_seed={ref['speedup_vs_seed']:.2f} roofline_fraction={ref['roofline_fraction']:.2f}")


if __name__ == "__main__":
    main()
