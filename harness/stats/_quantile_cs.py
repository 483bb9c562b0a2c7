"""A confidence sequence for one quantile (p95 latency) of one arm.

From Howard and Ramdas, "Sequential estimation of quantiles with applications
to A/B-testing and best-arm identification" (Bernoulli, 2022): a CS for the
count of observations at or below the true quantile, read off at the order
statistics. Unlike the mean's CS it is exact, not asymptotic: for i.i.d.
observations from ANY distribution (skewed, discrete, heavy-tailed latencies),
P(the true q-quantile is ever outside [lower_n, upper_n]) <= alpha.

Why it holds. Let Q = inf{x : F(x) >= q} and draw X_i = F^-1(U_i) with U_i
uniform; B_n = #{i <= n : U_i <= q} is Binomial(n, q), and
#{X_i < Q} <= B_n <= #{X_i <= Q}. A time-uniform CS for B_n -- every n with
lo_n <= B_n <= hi_n, with probability >= 1 - alpha -- therefore gives, at every n,
at least lo_n observations <= Q (so the lo_n-th smallest, X_(lo_n), is <= Q) and
at most hi_n observations < Q (so X_(hi_n + 1) >= Q). No union over candidate
values is needed: only the one Bernoulli(q) process at the true quantile matters.

The count's CS is the beta-binomial mixture of likelihood ratios,
    M_n(s) = B(a + s, b + n - s) / B(a, b) / (q^s (1 - q)^(n - s)),
a nonnegative martingale under q (each Beta(a, b)-weighted alternative's
likelihood ratio is one), so by Ville's inequality P(exists n: M_n(B_n) >= 1/alpha)
<= alpha. It is convex in s, so {s : M_n(s) < 1/alpha} is an interval; its
integer ends are lo_n and hi_n. The Beta(r q, r (1 - q)) prior has mean q and
variance q(1 - q)/(r + 1); r = n*/x - 1 with x = -2 log alpha + log(1 - 2 log alpha)
matches the normal mixture's rho tuned for n* units.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy.special import betaln

from finegate.harness.stats._sequential import (
    SequentialComparison,
    SequentialEstimate,
    _alpha,
    _number,
    _values,
)

_METHOD = "beta-binomial-quantile-cs"


def _prior_size(n_star: float, alpha: float) -> float:
    x = -2.0 * math.log(alpha) + math.log(1.0 - 2.0 * math.log(alpha))
    return max(n_star / x - 1.0, 1.0)


def _count_bounds(n: np.ndarray, q: float, alpha: float, n_star: float) -> tuple[np.ndarray, ...]:
    """lo_n and hi_n at each n: the integer ends of {s : log M_n(s) < log(1/alpha)}.

    The set holds s = n q (there every alternative's likelihood ratio is <= 1, so
    M_n <= 1), and log M_n is convex, so each end is found by bisection on one side.
    """
    r = _prior_size(n_star, alpha)
    a, b = r * q, r * (1.0 - q)
    n = np.asarray(n, dtype=float)
    level = math.log(1.0 / alpha)

    def excess(s: np.ndarray) -> np.ndarray:  # log M_n(s) - log(1/alpha)
        lr = betaln(a + s, b + n - s) - betaln(a, b)
        return lr - s * math.log(q) - (n - s) * math.log1p(-q) - level

    ends = []
    for edge in (np.zeros_like(n), n):  # the low end, then the high end
        inside, outside = n * q, edge.copy()
        for _ in range(64):
            half = (inside + outside) / 2.0
            out = excess(half) >= 0
            outside = np.where(out, half, outside)
            inside = np.where(out, inside, half)
        ends.append((outside, excess(edge) < 0))  # (the end, whether the side is all inside)
    (low, low_open), (high, high_open) = ends
    lo = np.where(low_open, 0, np.floor(low) + 1).astype(int)
    hi = np.where(high_open, n, np.ceil(high) - 1).astype(int)
    return lo, hi


@lru_cache(maxsize=16)
def _path_bounds(n_max: int, q: float, alpha: float, n_star: float) -> tuple[np.ndarray, ...]:
    """``_count_bounds`` for n = 1..n_max, kept for the next stream of the same length."""
    lo, hi = _count_bounds(np.arange(1, n_max + 1), q, alpha, n_star)
    lo.flags.writeable = hi.flags.writeable = False
    return lo, hi


def _checked(
    values: Sequence[float] | np.ndarray, q: float, alpha: float, n_star: float
) -> tuple[np.ndarray, float, float, float]:
    x = _values("values", values)
    q = _number("q", q, 0.0, 1.0)
    alpha = _alpha(alpha)
    n_star = _number("n_star", n_star)
    return x, q, alpha, n_star


def running_quantile_cs(
    values: Sequence[float] | np.ndarray,
    q: float = 0.95,
    alpha: float = 0.05,
    n_star: float = 1000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The q-quantile's CS after each observation, in arrival order:
    (estimate, lower, upper). The estimate is the order statistic X_(ceil(n q));
    lower is X_(lo_n) (-inf while lo_n < 1) and upper X_(hi_n + 1) (+inf while
    hi_n + 1 > n: for a p95, until there are enough observations above it).
    Keeps a sorted list, so the cost grows as n^2 memory moves: fine for
    tens of thousands of observations; past that, call ``quantile_confidence_sequence``
    at the looks you make."""
    x, q, alpha, n_star = _checked(values, q, alpha, n_star)
    lo, hi = _path_bounds(x.size, q, alpha, n_star)
    sorted_: list[float] = []
    est, lower, upper = (np.empty(x.size) for _ in range(3))
    for i, v in enumerate(x.tolist()):
        bisect.insort(sorted_, v)
        n = i + 1
        est[i] = sorted_[max(math.ceil(n * q), 1) - 1]
        lower[i] = sorted_[lo[i] - 1] if lo[i] >= 1 else -np.inf
        upper[i] = sorted_[hi[i]] if hi[i] + 1 <= n else np.inf
    return est, lower, upper


def quantile_confidence_sequence(
    values: Sequence[float] | np.ndarray,
    q: float = 0.95,
    alpha: float = 0.05,
    n_star: float = 1000,
) -> SequentialEstimate:
    """One arm's q-quantile at this look, with bounds that hold at every look at
    once, for i.i.d. observations from any distribution (exact, not asymptotic).

    Observations must be independent: latencies of one caller's requests are
    correlated too (the same prompt lengths), and with strong per-caller effects
    this CS, like any per-request one, is too narrow.
    """
    x, q, alpha, n_star = _checked(values, q, alpha, n_star)
    lo, hi = _count_bounds(np.array([x.size]), q, alpha, n_star)
    s = np.sort(x)
    n = x.size
    lower = float(s[lo[-1] - 1]) if lo[-1] >= 1 else -math.inf
    upper = float(s[hi[-1]]) if hi[-1] + 1 <= n else math.inf
    estimate = float(s[max(math.ceil(n * q), 1) - 1])
    return SequentialEstimate(estimate, lower, upper, n, alpha, _METHOD)


def compare_quantiles(
    canary: Sequence[float] | np.ndarray,
    production: Sequence[float] | np.ndarray,
    q: float = 0.95,
    *,
    alpha: float = 0.05,
    margin: float = 0.0,
    higher_is_better: bool = False,
    n_star: float = 1000,
) -> SequentialComparison:
    """Canary minus production in the q-quantile (p95 latency: lower is better).

    Each arm's quantile CS at alpha/2; the difference's bounds are
    lower_c - upper_p and upper_c - lower_p. By the union bound both arms' CSs
    hold at every look with probability >= 1 - alpha, so the difference's does too,
    whatever the arms' sizes and interleaving.
    """
    for name, arm in (("canary", canary), ("production", production)):
        _values(name, arm)
    margin = _number("margin", margin, or_equal=True)
    c = quantile_confidence_sequence(canary, q, _alpha(alpha) / 2.0, n_star)
    p = quantile_confidence_sequence(production, q, alpha / 2.0, n_star)
    return SequentialComparison.of(
        c.estimate - p.estimate,
        c.lower - p.upper,
        c.upper - p.lower,
        (c.n, p.n),
        alpha,
        f"{_METHOD}-union",
        margin,
        higher_is_better,
    )
