"""Confidence sequences for online A/B comparisons (canary vs production).

A canary is watched continuously, and a fixed-n 95% interval recomputed at every
look excludes a true zero difference sooner or later far more often than 5% of
the time. A confidence sequence (CS) C_1, C_2, ... has P(the true value lies
outside C_n for SOME n) <= alpha, so every look, and any rule for when to stop,
keeps the guarantee. The means use the asymptotic CS of Waudby-Smith, Arbour,
Sinha, Kennedy and Ramdas ("Time-uniform central limit theory and asymptotic
confidence sequences", Ann. Statist. 2024): Robbins' two-sided normal-mixture
boundary with a plug-in variance; asymptotic like the CLT interval (finite
variance, no known bound). Units must be independent: reduce requests to
callers with ``per_caller_units`` first.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from finegate.harness.core import InputError, Problem

Decision = Literal["better", "worse", "undecided"]
Method = Literal["lindeberg", "union"]

SHRINK_UNITS = 20  # pseudo-units lifting a small arm's variance: running_difference_cs
MIN_UNITS = 10  # units each arm needs before a difference CS is given


@dataclass(frozen=True)
class SequentialEstimate:
    """One arm's value at this look with its confidence-sequence bounds."""

    estimate: float
    lower: float
    upper: float
    n: int
    alpha: float
    method: str


@dataclass(frozen=True)
class SequentialComparison:
    """Canary minus production at this look, with its confidence-sequence bounds.

    ``decision`` reads the whole CS against ``margin`` (see ``decide``);
    ``non_inferior`` says the canary is not worse by more than ``margin``.
    Because the bounds hold at every look at once, acting on the first look
    that reads "worse" (roll back) or "better" (promote) keeps the error at alpha.
    """

    estimate: float
    lower: float
    upper: float
    n_canary: int
    n_production: int
    alpha: float
    method: str
    margin: float
    higher_is_better: bool
    decision: Decision
    non_inferior: bool

    @classmethod
    def of(
        cls,
        estimate: float,
        lower: float,
        upper: float,
        n: tuple[int, int],
        alpha: float,
        method: str,
        margin: float = 0.0,
        higher_is_better: bool = True,
    ) -> SequentialComparison:
        """Build one from its bounds; the decision and non-inferiority follow from them."""
        lower, upper = float(lower), float(upper)
        nc, np_ = int(n[0]), int(n[1])
        inferior = lower <= -margin if higher_is_better else upper >= margin
        return cls(
            float(estimate),
            lower,
            upper,
            nc,
            np_,
            float(alpha),
            method,
            float(margin),
            bool(higher_is_better),
            decide(lower, upper, margin, higher_is_better),
            not inferior,
        )


def decide(
    lower: float, upper: float, margin: float = 0.0, higher_is_better: bool = True
) -> Decision:
    """Read a CS on canary - production against a margin (>= 0, in metric units).

    Higher is better (quality, thumbs-up): "worse" when the whole CS lies below
    -margin (the canary is worse by more than the margin), "better" when it lies
    above 0, otherwise "undecided". Lower is better (latency, refusals of safe
    prompts): "worse" when the whole CS lies above +margin, "better" when it lies
    below 0. A CS that straddles the margin or zero is "undecided": keep looking.
    """
    if higher_is_better:
        if upper < -margin:
            return "worse"
        return "better" if lower > 0 else "undecided"
    if lower > margin:
        return "worse"
    return "better" if upper < 0 else "undecided"


# -- checks ------------------------------------------------------------------------------


def _values(name: str, values: Sequence[float] | np.ndarray) -> np.ndarray:
    """A 1-d float array with at least one value and no NaN or infinity."""
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(Problem(f"must be numbers ({exc})", field=name)) from None
    if a.ndim != 1:
        raise InputError(Problem(f"must be one-dimensional, got shape {a.shape}", field=name))
    if a.size == 0:
        raise InputError(Problem("is empty; a confidence sequence needs values", field=name))
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        msg = f"holds {bad.size} NaN or infinite value(s), the first at index {bad[0]}"
        raise InputError(Problem(msg, field=name), hint="leave out units that have no value")
    return a


def _number(
    name: str, value: float, low: float = 0.0, high: float = math.inf, or_equal: bool = False
) -> float:
    """A finite real number above low (or equal to it, with or_equal) and below
    high, else an InputError naming the argument."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and value < high
    if not (ok and (low <= value if or_equal else low < value)):
        sign = ">=" if or_equal else ">"
        where = f"in ({low:g}, {high:g})" if math.isfinite(high) else f"finite and {sign} {low:g}"
        raise InputError(Problem(f"must be a number {where}, got {value!r}", field=name))
    return float(value)


def _alpha(alpha: float) -> float:
    return _number("alpha", alpha, 0.0, 1.0)


def _unit_interval(name: str, a: np.ndarray) -> np.ndarray:
    bad = np.flatnonzero((a < 0) | (a > 1))
    if bad.size:
        msg = f"a proportion must lie in [0, 1]; index {bad[0]} holds {a[bad[0]]}"
        raise InputError(Problem(msg, field=name))
    return a


# -- the boundary ------------------------------------------------------------------------


def cs_rho(n_star: float, alpha: float = 0.05, variance: float = 1.0) -> float:
    """The mixture parameter rho that makes the CS tightest at n_star units.

    rho = sqrt((-2 log alpha + log(1 - 2 log alpha)) / (n_star * variance)).

    Why: write x = n s^2 rho^2. The squared half-width at n = n_star is
    s^2/n * (1 + 1/x) * log((x + 1)/alpha^2); its minimum over x solves
    x = -2 log alpha + log(x + 1), and one fixed-point step from x = -2 log alpha
    gives the formula (the one the paper gives, for variance 1). ``variance``
    is a guess of the per-unit variance made before seeing data (rho must not
    depend on the data): 1 suits a balanced A/B on proportions, 0.25 one
    proportion near 1/2. A wrong guess only moves where the CS is tightest; the
    width is flat near the optimum, and validity never depends on rho.
    """
    alpha = _alpha(alpha)
    n_star = _number("n_star", n_star)
    variance = _number("variance", variance)
    x = -2.0 * math.log(alpha) + math.log(1.0 - 2.0 * math.log(alpha))
    return math.sqrt(x / (n_star * variance))


def cs_half_width(
    n: float | np.ndarray, variance: float | np.ndarray, rho: float, alpha: float
) -> np.ndarray:
    """Half-width of the two-sided normal-mixture CS for the mean of n units:

    sqrt( 2 (n s^2 rho^2 + 1) / (n^2 rho^2) * log( sqrt(n s^2 rho^2 + 1) / alpha ) )

    with s^2 the per-unit variance. It is Robbins' mixture boundary: mixing the
    Gaussian likelihood ratio exp(l S_n - l^2 n s^2/2) over l ~ N(0, rho^2) gives a
    martingale whose crossing of 1/alpha has probability <= alpha (Ville), and the
    crossing point, divided by n, is this. Vectorised over n and variance.
    """
    n = np.asarray(n, dtype=float)
    k = n * np.asarray(variance, dtype=float) * rho * rho + 1.0
    return np.sqrt(2.0 * k / (n * n * rho * rho) * np.log(np.sqrt(k) / alpha))


def _rho(rho: float | None, n_star: float, alpha: float) -> float:
    return cs_rho(n_star, alpha) if rho is None else _number("rho", rho)


# -- one arm -----------------------------------------------------------------------------


def _running_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n, mean and the sum of squared deviations of every prefix of x.

    Shifted by the first value so that large, tightly spread values (latencies
    in ms) do not lose their spread to cancellation."""
    n = np.arange(1, x.size + 1, dtype=float)
    y = x - x[0]
    mean = np.cumsum(y) / n
    ss = np.maximum(np.cumsum(y * y) - n * mean * mean, 0.0)
    return n, mean + x[0], ss


def running_mean_cs(
    values: Sequence[float] | np.ndarray,
    alpha: float = 0.05,
    n_star: float = 1000,
    rho: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean's CS after each unit, in arrival order: (estimate, lower, upper).

    Lower and upper are -inf and +inf after the first unit (no variance yet).
    The sample variance (n - 1 in the denominator) is plugged in for s^2.
    """
    x = _values("values", values)
    alpha = _alpha(alpha)
    r = _rho(rho, n_star, alpha)
    n, mean, ss = _running_moments(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = cs_half_width(n, ss / (n - 1), r, alpha)
    half[0] = np.inf
    return mean, mean - half, mean + half


def mean_confidence_sequence(
    values: Sequence[float] | np.ndarray,
    alpha: float = 0.05,
    n_star: float = 1000,
    rho: float | None = None,
) -> SequentialEstimate:
    """One arm's mean at this look, with the asymptotic CS (method "asymptotic-cs").

    For 0/1 outcomes (or per-caller rates) this is the proportion's CS; the
    bounds are not clipped to [0, 1].
    """
    mean, lower, upper = running_mean_cs(values, alpha, n_star, rho)
    return SequentialEstimate(
        float(mean[-1]), float(lower[-1]), float(upper[-1]), int(mean.size), alpha, "asymptotic-cs"
    )


# -- two arms ----------------------------------------------------------------------------


def running_difference_cs(
    values: Sequence[float] | np.ndarray,
    in_canary: Sequence[bool] | np.ndarray,
    alpha: float = 0.05,
    n_star: float = 1000,
    rho: float | None = None,
    method: Method = "lindeberg",
    min_units: int = MIN_UNITS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CS on mean(canary) - mean(production) after each unit of an interleaved
    stream (``in_canary[i]`` says which arm unit i belongs to): (estimate, lower, upper).

    method="lindeberg" (default): with t = n_c + n_p units so far and
    V = s_c^2/n_c + s_p^2/n_p, the half-width is that of ``cs_half_width`` with
    n = t and per-unit variance t V:
        sqrt( 2 (t^2 V rho^2 + 1) / (t^2 rho^2) * log( sqrt(t^2 V rho^2 + 1) / alpha ) ).
    Why it holds: when each arriving unit joins the canary with a fixed
    probability pi (sticky random assignment), the difference of means equals the
    running mean of t independent terms Z(Y - mu_c)/pi - (1 - Z)(Y - mu_p)/(1 - pi)
    up to an O(log log t / t) remainder (n_c/t -> pi at the LIL rate), and t V
    estimates those terms' variance, s_c^2/pi + s_p^2/(1 - pi). That is the
    Lindeberg-type sum of variances the paper plugs into the same mixture
    boundary. It needs a fixed canary share; for a share that changes
    (ramps, adaptive allocation) use method="union".

    Small arms: a plug-in CS fails when a small arm's variance is underestimated
    (ten callers who all gave thumbs-up have variance 0), because the large arm
    makes t big and the bound narrow. Each arm's variance is therefore lifted
    toward the pooled within-arm variance by ``SHRINK_UNITS`` pseudo-units,
    max(s^2, (SS + 20 s_pool^2)/(n - 1 + 20)) (never lowered: an overestimate only
    costs width), and no bound is given before each arm has ``min_units`` units.
    Both fade as the arms grow, so the asymptotic guarantee is unchanged.

    method="union": each arm's own one-sample CS at alpha/2 (tuned for n_star/2
    units), and the difference's bounds are lower_c - upper_p and upper_c - lower_p.
    Valid for any interleaving, even one chosen from the data, but wider (widths
    add instead of adding in quadrature, and each arm pays alpha/2).
    """
    x = _values("values", values)
    z = np.asarray(in_canary)
    if z.shape != x.shape or z.dtype.kind not in "bi":
        msg = f"needs one True/False per value; got {z.size} {z.dtype} entries for {x.size}"
        raise InputError(Problem(msg, field="in_canary"))
    z = z.astype(bool)
    alpha = _alpha(alpha)
    if isinstance(min_units, bool) or not isinstance(min_units, int) or min_units < 2:
        raise InputError(Problem(f"must be an integer >= 2, got {min_units!r}", field="min_units"))
    if method == "union":
        return _union_path(x, z, alpha, n_star, rho, min_units)
    if method != "lindeberg":
        raise InputError(Problem(f"must be 'lindeberg' or 'union', got {method!r}", field="method"))
    r = _rho(rho, n_star, alpha)
    t = np.arange(1, x.size + 1, dtype=float)
    y = x - x[0]
    nc = np.cumsum(z).astype(float)
    npr = t - nc
    yc, yp = np.where(z, y, 0.0), np.where(z, 0.0, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        mc, mp = np.cumsum(yc) / nc, np.cumsum(yp) / npr
        ssc = np.maximum(np.cumsum(yc * yc) - nc * mc * mc, 0.0)
        ssp = np.maximum(np.cumsum(yp * yp) - npr * mp * mp, 0.0)
        pooled = (ssc + ssp) / (t - 2.0)
        lift = [
            np.maximum(ss / (n - 1), (ss + SHRINK_UNITS * pooled) / (n - 1 + SHRINK_UNITS))
            for ss, n in ((ssc, nc), (ssp, npr))
        ]
        half = cs_half_width(t, t * (lift[0] / nc + lift[1] / npr), r, alpha)
    ready = (nc >= min_units) & (npr >= min_units)
    diff = mc - mp  # the shift cancels in the difference
    return diff, np.where(ready, diff - half, -np.inf), np.where(ready, diff + half, np.inf)


def _union_path(
    x: np.ndarray, z: np.ndarray, alpha: float, n_star: float, rho: float | None, min_units: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = _rho(rho, n_star / 2.0, alpha / 2.0)
    arms = []
    for mask in (z, ~z):
        count = np.cumsum(mask)  # this arm's units after each stream position
        ready = count >= min_units
        if not mask.any():
            return np.full(x.size, np.nan), np.full(x.size, -np.inf), np.full(x.size, np.inf)
        at = np.maximum(count - 1, 0)
        mean, lower, upper = (a[at] for a in running_mean_cs(x[mask], alpha / 2.0, rho=r))
        arms.append(
            (
                np.where(count > 0, mean, np.nan),
                np.where(ready, lower, -np.inf),
                np.where(ready, upper, np.inf),
            )
        )
    (mc, lc, uc), (mp, lp, up) = arms
    return mc - mp, lc - up, uc - lp


def compare_means(
    canary: Sequence[float] | np.ndarray,
    production: Sequence[float] | np.ndarray,
    *,
    alpha: float = 0.05,
    margin: float = 0.0,
    higher_is_better: bool = True,
    n_star: float = 1000,
    rho: float | None = None,
    method: Method = "lindeberg",
    min_units: int = MIN_UNITS,
) -> SequentialComparison:
    """Canary minus production on per-unit values (per-caller means: see
    ``per_caller_units``) at this look, with a CS valid over every look.

    Recompute it at every look with all units so far; the arrival order does not
    change the lindeberg bounds. See ``running_difference_cs`` for the
    construction and ``decide`` for the decision.
    """
    c, p = _values("canary", canary), _values("production", production)
    margin = _number("margin", margin, or_equal=True)
    values = np.concatenate([c, p])
    in_canary = np.arange(values.size) < c.size
    est, lo, hi = running_difference_cs(values, in_canary, alpha, n_star, rho, method, min_units)
    return SequentialComparison.of(
        est[-1],
        lo[-1],
        hi[-1],
        (c.size, p.size),
        alpha,
        f"asymptotic-cs-{method}",
        margin,
        higher_is_better,
    )


def compare_proportions(
    canary: Sequence[float] | np.ndarray,
    production: Sequence[float] | np.ndarray,
    *,
    alpha: float = 0.05,
    margin: float = 0.0,
    higher_is_better: bool = True,
    n_star: float = 1000,
    rho: float | None = None,
    method: Method = "lindeberg",
    min_units: int = MIN_UNITS,
) -> SequentialComparison:
    """``compare_means`` for rates (thumbs-up, task completion, refusals): each value
    is a unit's 0/1 outcome or a caller's rate in [0, 1] (``per_caller_units``).
    Values outside [0, 1] are refused; the bounds are clipped to [-1, 1]. The
    default rho (variance 1) suits a balanced A/B near 1/2, where the per-unit
    variance of the difference, p(1-p)/pi + p(1-p)/(1-pi), is 1."""
    c = _unit_interval("canary", _values("canary", canary))
    p = _unit_interval("production", _values("production", production))
    r = compare_means(
        c,
        p,
        alpha=alpha,
        margin=margin,
        higher_is_better=higher_is_better,
        n_star=n_star,
        rho=rho,
        method=method,
        min_units=min_units,
    )
    return SequentialComparison.of(
        r.estimate,
        max(r.lower, -1.0),
        min(r.upper, 1.0),
        (r.n_canary, r.n_production),
        r.alpha,
        f"{r.method}-proportion",
        r.margin,
        higher_is_better,
    )
