"""Confidence sequences for online A/B: the formulas by hand, and by simulation
that they keep their promise when someone looks after every caller (and that a
fixed-n interval recomputed at every look does not)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from finegate.harness.core import InputError
from finegate.harness.stats import (
    SequentialComparison,
    compare_means,
    compare_proportions,
    compare_quantiles,
    cs_half_width,
    cs_rho,
    decide,
    mean_confidence_sequence,
    per_caller_units,
    quantile_confidence_sequence,
    running_difference_cs,
    running_mean_cs,
    running_quantile_cs,
)

ALPHA = 0.05


def _not_above_alpha(misses: int, n: int) -> float:
    """One-sided exact binomial p-value of 'the false-alarm rate exceeds alpha'."""
    return stats.binomtest(misses, n, ALPHA, alternative="greater").pvalue


# -- the formulas, by hand -----------------------------------------------------------------


def test_rho_is_tightest_at_n_star():
    x = -2 * math.log(0.05) + math.log(1 - 2 * math.log(0.05))  # 7.936156...
    assert cs_rho(1000, 0.05) == pytest.approx(math.sqrt(x / 1000), rel=1e-12)
    assert cs_rho(1000, 0.05) == pytest.approx(0.0890851, abs=1e-7)
    assert cs_rho(400, 0.05, variance=0.25) == pytest.approx(math.sqrt(x / 100), rel=1e-12)
    # the width at n* is (nearly) the smallest over rho: the fixed-point step is close
    grid = np.linspace(0.02, 0.3, 2000)
    widths = cs_half_width(1000, 1.0, grid, 0.05)
    best = grid[np.argmin(widths)]
    assert best == pytest.approx(cs_rho(1000, 0.05), rel=0.02)


def test_half_width_pins_the_formula():
    n, s2, rho, a = 400, 0.21, 0.0890851, 0.05
    k = n * s2 * rho**2 + 1
    by_hand = math.sqrt(2 * k / (n**2 * rho**2) * math.log(math.sqrt(k) / a))
    assert float(cs_half_width(n, s2, rho, a)) == pytest.approx(by_hand, rel=1e-12)
    assert by_hand == pytest.approx(0.092382, abs=1e-6)  # 400 callers, a rate near 0.7


def test_one_arm_cs_is_the_formula_on_the_running_mean():
    values = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    r = mean_confidence_sequence(values, alpha=0.1, n_star=50)
    n, mean, s2 = 10, 0.7, np.var(values, ddof=1)
    rho = cs_rho(50, 0.1)
    k = n * s2 * rho**2 + 1
    half = math.sqrt(2 * k / (n**2 * rho**2) * math.log(math.sqrt(k) / 0.1))
    assert (r.estimate, r.lower, r.upper) == pytest.approx((mean, mean - half, mean + half))
    assert (r.n, r.alpha, r.method) == (10, 0.1, "asymptotic-cs")
    est, lo, hi = running_mean_cs(values, alpha=0.1, n_star=50)
    assert (est[-1], lo[-1], hi[-1]) == pytest.approx((r.estimate, r.lower, r.upper))
    assert lo[0] == -math.inf and hi[0] == math.inf


def test_difference_cs_is_the_lindeberg_formula():
    canary = np.tile([0.0, 1.0], 100)  # 200 units, mean 0.5
    production = np.tile([0.1, 1.1], 100)  # the same spread, mean 0.6
    r = compare_means(canary, production, n_star=500)
    s2 = np.var(canary, ddof=1)  # equal in both arms, so the pooled lift changes nothing
    t, v = 400, s2 / 200 + s2 / 200
    rho = cs_rho(500, 0.05)
    k = t * t * v * rho**2 + 1
    half = math.sqrt(2 * k / (t * t * rho**2) * math.log(math.sqrt(k) / 0.05))
    assert r.estimate == pytest.approx(-0.1)
    assert (r.lower, r.upper) == pytest.approx((-0.1 - half, -0.1 + half))
    assert (r.n_canary, r.n_production, r.method) == (200, 200, "asymptotic-cs-lindeberg")
    # the same look through the streaming form, with the arms interleaved
    values = np.empty(400)
    values[0::2], values[1::2] = canary, production
    in_canary = np.arange(400) % 2 == 0
    est, lo, hi = running_difference_cs(values, in_canary, n_star=500)
    assert (est[-1], lo[-1], hi[-1]) == pytest.approx((r.estimate, r.lower, r.upper))
    assert np.all(np.isinf(hi[:19])) and np.isfinite(hi[19])  # 10 units per arm first


def test_a_small_arm_that_happens_to_agree_is_not_trusted():
    # ten canary callers who all said yes: variance 0 on its own, lifted toward the pool
    canary, production = np.ones(10), np.tile([0.0, 1.0, 1.0, 1.0], 250)
    r = compare_proportions(canary, production, n_star=1000)
    assert r.lower < 0 < r.upper  # undecided, not "better" on ten callers
    assert r.method == "asymptotic-cs-lindeberg-proportion"


def test_union_is_wider_than_lindeberg():
    rng = np.random.default_rng(0)
    c, p = rng.normal(0.1, 1, 500), rng.normal(0, 1, 1500)
    lind = compare_means(c, p, n_star=2000)
    union = compare_means(c, p, n_star=2000, method="union")
    assert union.estimate == pytest.approx(lind.estimate)
    assert union.upper - union.lower > lind.upper - lind.lower
    assert union.method == "asymptotic-cs-union"


# -- decisions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lower", "upper", "higher_is_better", "decision", "non_inferior"),
    [
        (-0.05, -0.03, True, "worse", False),  # all below -margin
        (-0.03, -0.01, True, "undecided", False),  # worse, but maybe not by 2 points
        (-0.01, 0.04, True, "undecided", True),  # not worse by more than the margin
        (0.01, 0.04, True, "better", True),
        (0.03, 0.05, False, "worse", False),  # latency: all above +margin
        (-0.04, -0.01, False, "better", True),
        (-0.01, 0.01, False, "undecided", True),
    ],
)
def test_decision_reads_the_whole_cs_against_the_margin(
    lower, upper, higher_is_better, decision, non_inferior
):
    assert decide(lower, upper, 0.02, higher_is_better) == decision
    r = SequentialComparison.of(0.0, lower, upper, (10, 10), 0.05, "m", 0.02, higher_is_better)
    assert (r.decision, r.non_inferior) == (decision, non_inferior)


# -- false alarms under continuous peeking -----------------------------------------------------


def _caller_rates(rng: np.random.Generator, n: int) -> np.ndarray:
    """Per-caller thumbs-up rates: callers differ (Beta(7, 3)) and make 1 to ~12 requests."""
    m = 1 + rng.poisson(4, n)
    return rng.binomial(m, rng.beta(7, 3, n)) / m


def test_no_difference_rarely_ever_excluded_while_fixed_n_often_is():
    rng = np.random.default_rng(20261207)
    sims, callers = 400, 1000
    ever_cs = ever_union = ever_fixed = 0
    for _ in range(sims):
        in_canary = rng.random(callers) < 0.2  # a 20% canary, sticky per caller
        values = _caller_rates(rng, callers)  # both arms alike: the true difference is 0
        est, lo, hi = running_difference_cs(values, in_canary, n_star=1000)
        ever_cs += bool(np.any((lo > 0) | (hi < 0)))
        _, lo_u, hi_u = running_difference_cs(values, in_canary, n_star=1000, method="union")
        ever_union += bool(np.any((lo_u > 0) | (hi_u < 0)))
        # the fixed-n 95% (Welch) interval, recomputed after every caller
        half = 1.96 * np.sqrt(_running_var_of_difference(values, in_canary))
        ever_fixed += bool(np.any(np.abs(est) > half))
    rate = ever_cs / sims
    assert _not_above_alpha(ever_cs, sims) > 0.01, f"CS false-alarm rate {rate:.3f}"
    assert _not_above_alpha(ever_union, sims) > 0.01, f"union rate {ever_union / sims:.3f}"
    assert ever_fixed / sims > 0.25, f"fixed-n rate {ever_fixed / sims:.3f}"


def _running_var_of_difference(values: np.ndarray, in_canary: np.ndarray) -> np.ndarray:
    """s_c^2/n_c + s_p^2/n_p after every unit (inf until each arm has 10 units)."""
    out = np.zeros(values.size)
    for mask in (in_canary, ~in_canary):
        n = np.cumsum(mask).astype(float)
        x = np.where(mask, values, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.cumsum(x) / n
            var = (np.cumsum(x * x) - n * mean * mean) / (n - 1)
            out += np.where(n >= 10, var / n, np.inf)
    return out


def test_power_a_five_point_gain_is_found_within_6000_callers():
    rng = np.random.default_rng(5)
    sims, callers, found, first = 200, 6000, 0, []
    for _ in range(sims):
        in_canary = rng.random(callers) < 0.5
        thumbs_up = (rng.random(callers) < np.where(in_canary, 0.75, 0.70)).astype(float)
        _, lo, _ = running_difference_cs(thumbs_up, in_canary, n_star=4000)
        hit = np.flatnonzero(lo > 0)
        if hit.size:
            found += 1
            first.append(hit[0] + 1)
    assert found / sims >= 0.85, f"found in {found} of {sims}"
    assert 1500 < np.median(first) < 4000  # callers until the CS excludes 0


# -- callers, not requests -------------------------------------------------------------------


def _clustered(rng: np.random.Generator, callers: int) -> tuple[np.ndarray, ...]:
    """Requests with strong per-caller effects (ICC 0.5): some callers nearly always
    succeed, some nearly never. Each caller's requests arrive together."""
    in_canary = rng.random(callers) < 0.5
    p = rng.beta(0.7, 0.3, callers)
    m = 1 + rng.poisson(9, callers)
    caller = np.repeat(np.arange(callers), m)
    y = (rng.random(caller.size) < p[caller]).astype(float)
    return caller, np.where(in_canary[caller], "canary", "production"), y


def test_per_request_cs_is_far_too_narrow_and_per_caller_holds():
    rng = np.random.default_rng(7)
    sims, per_request, per_caller = 400, 0, 0
    for _ in range(sims):
        caller, arm, y = _clustered(rng, 1000)
        _, lo, hi = running_difference_cs(y, arm == "canary", n_star=10000)
        per_request += bool(np.any((lo > 0) | (hi < 0)))
        units = per_caller_units(caller, arm, y)
        _, lo, hi = running_difference_cs(units.values, units.in_arm("canary"), n_star=1000)
        per_caller += bool(np.any((lo > 0) | (hi < 0)))
    assert per_request / sims > 0.5, f"per-request false-alarm rate {per_request / sims:.3f}"
    rate = per_caller / sims
    assert _not_above_alpha(per_caller, sims) > 0.01, f"per-caller rate {rate:.3f}"


def test_per_caller_units_mean_and_ratio():
    callers = ["a", "a", "b", "c", "b", "a"]
    arms = ["canary", "canary", "production", "production", "production", "canary"]
    values = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    u = per_caller_units(callers, arms, values)
    assert u.callers == ("a", "b", "c") and u.arms == ("canary", "production", "production")
    assert u.values == pytest.approx([2 / 3, 0.5, 1.0])
    assert list(u.requests) == [3, 2, 1]
    assert u.of("production") == pytest.approx([0.5, 1.0])
    ratio = per_caller_units(callers, arms, values, how="ratio")
    assert ratio.of("production").mean() == pytest.approx(2 / 3)  # 2 of 3 requests
    assert ratio.of("canary").mean() == pytest.approx(2 / 3)
    same = per_caller_units(np.array(callers), np.array(arms), values)  # the numpy path
    assert same.callers == u.callers and same.values == pytest.approx(u.values)


def test_a_caller_in_both_arms_is_refused():
    with pytest.raises(InputError, match=r"arms: caller 'b' appears in arm 'p' and in arm 'c'"):
        per_caller_units(["a", "b", "b"], ["c", "p", "c"], [1.0, 0.0, 1.0])


# -- quantiles -------------------------------------------------------------------------------


def test_quantile_cs_covers_p95_at_every_look_and_fixed_n_does_not():
    rng = np.random.default_rng(95)
    sims, n, q = 300, 1000, 0.95
    true_p95 = math.exp(stats.norm.ppf(q))  # lognormal(0, 1) latencies
    k = np.arange(1, n + 1)
    lo_idx = stats.binom.ppf(ALPHA / 2, k, q)  # fixed-n order-statistic interval
    hi_idx = stats.binom.ppf(1 - ALPHA / 2, k, q) + 1
    ever_cs = ever_fixed = 0
    for i in range(sims):
        x = rng.lognormal(0, 1, n)
        _, lo, hi = running_quantile_cs(x, q, n_star=1000)
        ever_cs += bool(np.any((lo > true_p95) | (hi < true_p95)))
        below = np.cumsum(x <= true_p95)  # X_(j) <= Q exactly when j <= #below
        ever_fixed += bool(np.any((below < lo_idx) | (below >= hi_idx)))
        if i == 0:
            r = quantile_confidence_sequence(x, q, n_star=1000)
            assert (r.lower, r.upper, r.estimate) == (lo[-1], hi[-1], np.sort(x)[949])
    assert _not_above_alpha(ever_cs, sims) > 0.01, f"quantile CS rate {ever_cs / sims:.3f}"
    assert ever_fixed / sims > 0.25, f"fixed-n rate {ever_fixed / sims:.3f}"


def test_quantile_cs_early_bounds_are_open_and_then_close():
    x = np.random.default_rng(1).exponential(100, 2000)
    _, lo, hi = running_quantile_cs(x, 0.95, n_star=1000)
    assert math.isinf(hi[10]) and math.isinf(lo[2])  # too few observations above a p95
    assert np.all(lo[-100:] < hi[-100:]) and hi[-1] - lo[-1] < 100
    r = compare_quantiles(x[:1000] + 50, x[1000:], 0.95, margin=10)
    assert r.decision in {"worse", "undecided"} and r.method.endswith("-union")
    assert not r.higher_is_better


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: mean_confidence_sequence([]), "values"),
        (lambda: mean_confidence_sequence([1.0, float("nan")]), "values"),
        (lambda: mean_confidence_sequence([1.0, 2.0], alpha=1.5), "alpha"),
        (lambda: mean_confidence_sequence([1.0, 2.0], alpha=0), "alpha"),
        (lambda: mean_confidence_sequence([1.0, 2.0], alpha=float("nan")), "alpha"),
        (lambda: compare_means([], [1.0]), "canary"),
        (lambda: compare_means([1.0], [np.nan]), "production"),
        (lambda: compare_means([1.0], [2.0], margin=-1), "margin"),
        (lambda: compare_proportions([0.5, 2.0], [0.1]), "canary"),
        (lambda: cs_rho(0), "n_star"),
        (lambda: running_difference_cs([1.0, 2.0], [True]), "in_canary"),
        (lambda: running_difference_cs([1.0, 2.0], ["canary", "production"]), "in_canary"),
        (lambda: running_difference_cs([1.0, 2.0], [True, False], method="x"), "method"),
        (lambda: quantile_confidence_sequence([1.0], q=1.0), "q"),
        (lambda: quantile_confidence_sequence([], q=0.5), "values"),
        (lambda: compare_quantiles([1.0], []), "production"),
        (lambda: per_caller_units(["a"], ["c"], [float("inf")]), "values"),
        (lambda: per_caller_units(["a", "b"], ["c"], [1.0, 2.0]), "callers"),
    ],
)
def test_bad_input_names_the_argument(call, field):
    with pytest.raises(InputError) as err:
        call()
    assert str(err.value).startswith(f"{field}: ")
