"""This machine's ceilings, measured in the benchmark's own process: the fp32
matmul peak (what a compute-bound pass could reach) and the memory copy
bandwidth (what a weight-bound decode step could reach). Efficiency figures
are ratios against these, never against a datasheet."""

from __future__ import annotations

import os
import platform
import time
from typing import Any


def _best_of(fn: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def matmul_peak_flops(n: int = 2048, repeats: int = 6) -> float:
    """FLOP/s of the best of several ``n``-square fp32 matrix products."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        a @ b
    return 2 * n**3 / _best_of(lambda: a @ b, repeats)


def copy_bandwidth(megabytes: int = 512, repeats: int = 5) -> float:
    """Bytes/s moved by copying a large tensor into a preallocated one (read + write)."""
    import torch

    src = torch.randn(megabytes * 2**20 // 4)
    dst = torch.empty_like(src)
    dst.copy_(src)
    return 2 * src.numel() * 4 / _best_of(lambda: dst.copy_(src), repeats)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> dict[str, Any]:
    import lm_eval
    import peft
    import torch
    import transformers

    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "lm_eval": getattr(lm_eval, "__version__", "?"),
    }
