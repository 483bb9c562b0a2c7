"""Paired statistics on two runs' scores for the same cases: the mean difference
with a paired-bootstrap interval and p-value, the relative change with its
interval, and McNemar's exact test for 0/1 scores."""

from __future__ import annotations

import math

import numpy as np


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (A right & B
    wrong = b, A wrong & B right = c): a binomial test of b against n = b + c, p = 1/2."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2.0 * tail)


def bootstrap_interval_and_p(
    draws: np.ndarray, observed: float, level: float, resamples: int
) -> tuple[float, float, float]:
    """Percentile interval of bootstrap differences, and the two-sided p-value of
    the shifted distribution: how often a resampled difference lies as far from
    the observed one as the observed one lies from zero (floored at 1/resamples)."""
    alpha = (1 - level) / 2
    lo, hi = np.quantile(draws, [alpha, 1 - alpha])
    if observed == 0:
        return float(lo), float(hi), 1.0
    p = float(np.mean(np.abs(draws - observed) >= abs(observed)))
    return float(lo), float(hi), max(p, 1.0 / resamples)


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, level: float, resamples: int, seed: int
) -> tuple[float, float, float, float]:
    """Mean paired difference b - a with its bootstrap interval and p-value."""
    d = b - a
    if d.size == 0:
        return math.nan, math.nan, math.nan, math.nan
    observed = float(d.mean())
    if d.size == 1:
        return observed, math.nan, math.nan, 1.0
    if np.all(d == d[0]):  # every case moved by the same amount: no sampling spread
        return observed, observed, observed, 1.0 if observed == 0 else 0.0
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(resamples, d.size))].mean(axis=1)
    return (observed, *bootstrap_interval_and_p(means, observed, level, resamples))


def paired_relative_change(
    a: np.ndarray, b: np.ndarray, level: float, resamples: int, seed: int
) -> tuple[float | None, float | None, float | None]:
    """(mean(b) - mean(a)) / mean(a) with a paired-bootstrap interval: both runs are
    resampled on the same cases, so the interval is that of the drop itself. None
    where the baseline's mean is zero (no relative change is defined)."""
    if a.size == 0 or a.mean() == 0:
        return None, None, None
    observed = float((b.mean() - a.mean()) / a.mean())
    if a.size == 1:
        return observed, None, None
    idx = np.random.default_rng(seed).integers(0, a.size, size=(resamples, a.size))
    ma, mb = a[idx].mean(axis=1), b[idx].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = (mb - ma) / ma
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size == 0:
        return observed, None, None
    alpha = (1 - level) / 2
    lo, hi = np.quantile(ratios, [alpha, 1 - alpha])
    return observed, float(lo), float(hi)
