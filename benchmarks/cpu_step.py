"""Where a stacked training step's time goes on this CPU, and how the cores are best used.

    python benchmarks/cpu_step.py [--members K]

(a) one stacked epoch of K reference VAEs (MNIST, n_layers 2, d_z 2, 5,400 training images each)
    profiled by operator (torch.profiler, self CPU time): the batched products against the
    elementwise work and the optimizer;
(b) the same epoch's samples/s in one process using every core's thread, against one
    single-threaded process per core running at once (what `VAE_EXECUTOR=local:N` does), each
    timed in its own process: `processes_vs_threads=<x>` (> 1: the processes train more in all).
Writes results/bench-cpu-step.csv (the profile's operators, then the two layouts).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vae_utils.config.paths import results_dir  # noqa: E402
from vae_utils.core.data import load_dataset  # noqa: E402
from vae_utils.engine.stacked import StackedTrainer  # noqa: E402
from vae_utils.engine.training import TrainConfig  # noqa: E402

PRODUCTS = ("aten::bmm", "aten::baddbmm", "aten::mm", "aten::addmm")


def reference_trainer(members):
    """The stacked trainer of `members` reference VAEs, each on its own block of 6,000 images."""
    configs = [TrainConfig(dataset="mnist", model="vae", n_layers=2, d_z=2, repeat=k, n_train=6000)
               for k in range(members)]
    return StackedTrainer(configs, load_dataset("mnist"), torch.device("cpu"))


def epoch_rate(members, threads, epochs=3):
    """Training samples/s of the reference stack's epoch in this process with `threads` threads."""
    torch.set_num_threads(threads)
    trainer = reference_trainer(members)
    trainer.train_epoch()                                        # warm-up
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        trainer.train_epoch()
        seconds.append(time.perf_counter() - start)
    return trainer.streams.train_idx.numel() / statistics.median(seconds)


def operator_profile(members):
    """Self CPU time of one stacked epoch by operator (operators with at least 0.5% of it)."""
    from torch.profiler import ProfilerActivity, profile
    trainer = reference_trainer(members)
    trainer.train_epoch()                                        # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        trainer.train_epoch()
    table = pd.DataFrame([(e.key, e.self_cpu_time_total, e.count) for e in prof.key_averages()],
                         columns=["operator", "self_cpu_us", "calls"]).sort_values("self_cpu_us", ascending=False)
    table["share"] = table["self_cpu_us"] / table["self_cpu_us"].sum()
    return table[table["share"] >= 0.005].reset_index(drop=True)


def layouts(members):
    """Samples/s in all of one process with every core's thread, and of one process per core."""
    cores = len(os.sched_getaffinity(0))

    def run(threads, copies):
        procs = [subprocess.Popen([sys.executable, __file__, "--members", str(members), "--rate", str(threads)],
                                  stdout=subprocess.PIPE, text=True) for _ in range(copies)]
        outputs = [p.communicate()[0] for p in procs]
        if any(p.returncode for p in procs):
            sys.exit("a timed process failed")
        return sum(float(out.split()[-1]) for out in outputs)
    return pd.DataFrame([{"operator": f"1 process x {cores} threads", "samples_per_s": run(cores, 1)},
                         {"operator": f"{cores} processes x 1 thread", "samples_per_s": run(1, cores)}])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10, help="models per stack (default 10)")
    parser.add_argument("--rate", type=int, metavar="THREADS", help=argparse.SUPPRESS)   # a timed worker
    args = parser.parse_args()
    if args.members < 1:
        parser.error(f"--members must be >= 1, not {args.members}")
    if args.rate:
        print(epoch_rate(args.members, args.rate))
        return
    profile = operator_profile(args.members)
    with pd.option_context("display.width", 200):
        print(profile.round(3).to_string(index=False))
    products = profile[profile["operator"].isin(PRODUCTS)]["share"].sum()
    print(f"products (bmm, baddbmm, mm, addmm): {products:.0%} of the epoch's self time, "
          f"{args.members} members, {torch.get_num_threads()} threads")
    rates = layouts(args.members)
    print(rates.round(0).to_string(index=False))
    print(f"processes_vs_threads={rates['samples_per_s'].iloc[1] / rates['samples_per_s'].iloc[0]:.2f}")
    path = results_dir("default") / "bench-cpu-step.csv"
    pd.concat([profile, rates], ignore_index=True).to_csv(path, index=False, float_format="%.4g")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
