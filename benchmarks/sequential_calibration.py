"""``python -m benchmarks.sequential_calibration``: do the online A/B confidence
sequences keep their promise when someone looks after every caller?

Simulates many canaries with no true difference and counts how often the CS
EVER excludes the truth (the false-alarm rate under continuous peeking), with a
Clopper-Pearson 95% interval, next to a fixed-n 95% interval recomputed at every
look; then, with a true difference, how often and how soon the CS excludes 0.
Prints markdown tables (docs/statistics.md quotes them). About a minute on one core.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
from scipy import stats

from finegate.harness.stats import per_caller_units, running_difference_cs, running_quantile_cs

Z95 = 1.959964


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.sequential_calibration")
    p.add_argument("--streams", type=int, default=2000, help="simulated canaries per row")
    p.add_argument("--power-streams", type=int, default=1000, help="streams per power row")
    p.add_argument("--seed", type=int, default=20261207)
    return p.parse_args(argv)


def _cp(k: int, n: int) -> str:
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return f"{k / n:.4f} [{ci.low:.4f}, {ci.high:.4f}]"


def _ever_out(lo: np.ndarray, hi: np.ndarray, truth: float) -> bool:
    return bool(np.any((lo > truth) | (hi < truth)))


def _fixed_n_out(values: np.ndarray, in_canary: np.ndarray, truth: float) -> bool:
    """The Welch 95% interval recomputed after every unit (once each arm has 10)."""
    var, mean = np.zeros(values.size), np.zeros(values.size)
    for sign, mask in ((1.0, in_canary), (-1.0, ~in_canary)):
        n = np.cumsum(mask).astype(float)
        x = np.where(mask, values, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.cumsum(x) / n
            v = (np.cumsum(x * x) - n * m * m) / (n - 1)
        mean += sign * m
        var += np.where(n >= 10, v / n, np.inf)
    return bool(np.any(np.abs(mean - truth) > Z95 * np.sqrt(var)))


Stream = tuple[np.ndarray, np.ndarray, float]  # values, in_canary, the true difference


def _thumbs(r: np.random.Generator, n: int) -> np.ndarray:
    m = 1 + r.poisson(4, n)  # per-caller rates: Beta(7, 3) callers, 1 to ~12 requests
    return r.binomial(m, r.beta(7, 3, n)) / m


def _binary(p_canary: float, p_production: float, share: float, n: int) -> Callable:
    def draw(r: np.random.Generator) -> Stream:
        z = r.random(n) < share
        y = (r.random(n) < np.where(z, p_canary, p_production)).astype(float)
        return y, z, p_canary - p_production

    return draw


def _noisy_canary(r: np.random.Generator, n: int = 2000) -> Stream:
    z = r.random(n) < 0.1
    return np.where(z, 0.3 + 3.0 * r.standard_normal(n), r.standard_normal(n)), z, 0.3


SCENARIOS: dict[str, tuple[int, Callable[[np.random.Generator], Stream]]] = {
    "caller thumbs-up rates, 20% canary, 1,000 callers": (
        1000, lambda r: (_thumbs(r, 1000), r.random(1000) < 0.2, 0.0)),
    "0/1 outcome p = 0.5, 50% canary, 1,000 callers": (1000, _binary(0.5, 0.5, 0.5, 1000)),
    "0/1 outcome p = 0.9, 5% canary, 2,000 callers": (2000, _binary(0.9, 0.9, 0.05, 2000)),
    "0/1 outcome 0.75 vs 0.70, 20% canary, 2,000 callers": (
        2000, _binary(0.75, 0.70, 0.2, 2000)),
    "lognormal(0, 1) caller means, 10% canary, 2,000 callers": (
        2000, lambda r: (r.lognormal(0.0, 1.0, 2000), r.random(2000) < 0.1, 0.0)),
    "normal, canary sd 3 vs 1, +0.3, 10% canary, 2,000 callers": (2000, _noisy_canary),
}  # fmt: skip


def false_alarms(streams: int, seed: int) -> list[tuple[str, ...]]:
    rows = []
    for name, (callers, draw) in SCENARIOS.items():
        rng = np.random.default_rng(seed)
        counts = {"lindeberg": 0, "union": 0, "fixed": 0}
        for _ in range(streams):
            values, in_canary, truth = draw(rng)
            for method in ("lindeberg", "union"):
                _, lo, hi = running_difference_cs(values, in_canary, n_star=callers, method=method)
                counts[method] += _ever_out(lo, hi, truth)
            counts["fixed"] += _fixed_n_out(values, in_canary, truth)
        rows.append((name, *(_cp(counts[k], streams) for k in counts)))
    return rows


def clustered(streams: int, seed: int, callers: int = 1000) -> list[tuple[str, ...]]:
    """Strong per-caller effects (ICC 0.5, about 10 requests per caller)."""
    rng = np.random.default_rng(seed)
    per_request = per_caller = 0
    for _ in range(streams):
        in_canary = rng.random(callers) < 0.5
        p = rng.beta(0.7, 0.3, callers)
        caller = np.repeat(np.arange(callers), 1 + rng.poisson(9, callers))
        y = (rng.random(caller.size) < p[caller]).astype(float)
        _, lo, hi = running_difference_cs(y, in_canary[caller], n_star=10 * callers)
        per_request += _ever_out(lo, hi, 0.0)
        units = per_caller_units(caller, in_canary[caller], y)
        _, lo, hi = running_difference_cs(units.values, units.in_arm(True), n_star=callers)
        per_caller += _ever_out(lo, hi, 0.0)
    return [
        ("CS over requests (wrong unit)", _cp(per_request, streams)),
        ("CS over callers (per_caller_units)", _cp(per_caller, streams)),
    ]


def quantiles(streams: int, seed: int, n: int = 1000, q: float = 0.95) -> list[tuple[str, ...]]:
    rng = np.random.default_rng(seed)
    truth = math.exp(stats.norm.ppf(q))
    k = np.arange(1, n + 1)
    lo_idx, hi_idx = stats.binom.ppf(0.025, k, q), stats.binom.ppf(0.975, k, q) + 1
    ever_cs = ever_fixed = 0
    for _ in range(streams):
        x = rng.lognormal(0.0, 1.0, n)
        _, lo, hi = running_quantile_cs(x, q, n_star=n)
        ever_cs += _ever_out(lo, hi, truth)
        below = np.cumsum(x <= truth)
        ever_fixed += bool(np.any((below < lo_idx) | (below >= hi_idx)))
    return [
        ("p95 CS (beta-binomial, order statistics)", _cp(ever_cs, streams)),
        ("fixed-n 95% order-statistic interval", _cp(ever_fixed, streams)),
    ]


def power(streams: int, seed: int) -> list[tuple[str, ...]]:
    """Thumbs-up 0.70 in production; the canary is better by 2, 5 or 10 points."""
    checkpoints = (1000, 2000, 5000, 10000, 20000)
    rows = []
    for share in (0.5, 0.2):
        for gain in (0.02, 0.05, 0.10):
            rng = np.random.default_rng(seed)
            first = []
            for _ in range(streams):
                in_canary = rng.random(checkpoints[-1]) < share
                y = (rng.random(in_canary.size) < np.where(in_canary, 0.70 + gain, 0.70)) * 1.0
                _, lo, _ = running_difference_cs(y, in_canary, n_star=4000)
                hit = np.flatnonzero(lo > 0)
                first.append(hit[0] + 1 if hit.size else math.inf)
            f = np.array(first)
            found = [f"{np.mean(f <= c):.3f}" for c in checkpoints]
            median = np.median(f)
            median_text = f"> {checkpoints[-1]:,}" if math.isinf(median) else f"{median:,.0f}"
            rows.append((f"{share:.0%}", f"+{gain * 100:.0f} pts", *found, median_text))
    return rows


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def main(argv: list[str] | None = None) -> None:
    a = _args(argv)
    start = time.perf_counter()
    print(f"Misses under continuous peeking ({a.streams} streams each, alpha 0.05, looking")
    print("after every caller): the share of streams whose interval EVER excludes the true")
    print("difference, with its Clopper-Pearson 95% interval\n")
    header = (
        "stream (the CS should cover the true difference)",
        "CS lindeberg",
        "CS union",
        "fixed-n 95% every look",
    )
    print(_table(header, false_alarms(a.streams, a.seed)) + "\n")
    print(_table(("clustered requests, ICC 0.5", "false alarms"), clustered(a.streams, a.seed)))
    print()
    print(_table(("p95 latency, 1,000 requests", "ever misses"), quantiles(a.streams, a.seed)))
    print(f"\nPower ({a.power_streams} streams each, n_star 4,000): share of streams whose CS")
    print("excludes 0 by N callers, and the median callers until it does\n")
    header = ("canary share", "true gain", "1,000", "2,000", "5,000", "10,000", "20,000", "median")
    print(_table(header, power(a.power_streams, a.seed)))
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
