"""Interval estimates for per-case scores.

A metric is never a bare number. Rates (every score 0 or 1) get the Wilson
score interval, which keeps its coverage at small n and near 0 or 1 where the
normal approximation fails; anything else gets a seeded percentile bootstrap,
so the same scores give the same interval on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from finegate.harness.core import MetricValue

DEFAULT_LEVEL = 0.95

DEFAULT_RESAMPLES = 2000

DEFAULT_SEED = 0


def _z(level: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 2.0)


def wilson_interval(successes: int, n: int, level: float = DEFAULT_LEVEL) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    z = _z(level)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return (lo, hi)


def bootstrap_interval(
    values: Sequence[float],
    level: float = DEFAULT_LEVEL,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap of the mean, seeded."""
    arr = np.asarray(values, dtype=np.float64)
    n = arr.size
    if n == 0:
        return (math.nan, math.nan)
    if n == 1 or np.all(arr == arr[0]):
        return (float(arr[0]), float(arr[0]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    means = arr[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))


def is_binary(values: Sequence[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def summarize(
    name: str,
    values: Sequence[float | None],
    level: float = DEFAULT_LEVEL,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> MetricValue:
    """Mean of the scored cases with its interval; ``None`` scores (not applicable) are left out."""
    kept = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(kept)
    if n == 0:
        return MetricValue(name, math.nan, 0, math.nan, math.nan, level, "none")
    mean = math.fsum(kept) / n
    if is_binary(kept):
        lo, hi = wilson_interval(int(sum(kept)), n, level)
        method = "wilson"
    else:
        lo, hi = bootstrap_interval(kept, level, resamples, seed)
        method = f"bootstrap-percentile(resamples={resamples},seed={seed})"
    return MetricValue(name, mean, n, lo, hi, level, method)


def percentile_interval(draws: np.ndarray, level: float) -> tuple[float, float]:
    draws = draws[~np.isnan(draws)]
    if draws.size == 0:
        return math.nan, math.nan
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(draws, [alpha, 1 - alpha])
    return float(lo), float(hi)
