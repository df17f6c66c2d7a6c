"""Seeding, device choice and run metadata."""
import json
import platform
import random
import subprocess

import numpy as np
import torch

from ..config.paths import PROJECT_ROOT
from .inputs import package_versions

__all__ = ["git_commit", "package_versions", "pick_device", "processor", "run_metadata", "seed_everything",
           "write_run_metadata"]


def seed_everything(seed):
    """Seed Python, NumPy and torch; return a torch.Generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def pick_device(preferred=None):
    """CUDA when present (or when asked for), else CPU."""
    if preferred:
        return torch.device(preferred)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def git_commit():
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
             "amx_tile", "amx_bf16", "amx_int8")   # the instruction sets float32 kernels choose between


def processor():
    """(model name, the ISA_FLAGS it has): float32 results can differ between processors."""
    try:
        info = open("/proc/cpuinfo").read()
    except OSError:
        return platform.processor() or platform.machine(), []
    fields = dict(line.split(":", 1) for line in info.splitlines()[:40] if ":" in line)
    name = fields.get("model name\t", platform.machine()).strip()
    flags = set(fields.get("flags\t\t", "").split())
    return name, [f for f in ISA_FLAGS if f in flags]


def run_metadata(**extra):
    """Git commit, package versions, device, processor and torch threads, plus what the caller adds."""
    device = pick_device()
    cpu_name, cpu_flags = processor()
    meta = {
        "git_commit": git_commit(),
        "versions": package_versions(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(0) if device.type == "cuda" else cpu_name,
        "cpu": cpu_name,
        "cpu_flags": cpu_flags,
        "torch_threads": torch.get_num_threads(),
    }
    meta.update(extra)
    return meta


def write_run_metadata(path, **extra):
    meta = run_metadata(**extra)
    with open(path, "w") as fh:
        json.dump(meta, fh, indent=2, sort_keys=True, default=str)
    return meta
