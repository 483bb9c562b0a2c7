import math

import pytest

from finegate.harness.stats import bootstrap_interval, summarize, wilson_interval


def test_wilson_matches_published_values():
    # 8/10 at 95%: the textbook Wilson score interval [0.4902, 0.9433]
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.490162, abs=1e-6)
    assert hi == pytest.approx(0.943318, abs=1e-6)
    # 45/50 at 90%, by the closed form with z = 1.644854
    lo, hi = wilson_interval(45, 50, level=0.90)
    assert (lo, hi) == pytest.approx((0.808462, 0.950471), abs=1e-6)


def test_wilson_edges_are_exact():
    assert wilson_interval(0, 20) == (0.0, pytest.approx(0.161125, abs=1e-6))
    lo, hi = wilson_interval(20, 20)
    assert hi == 1.0 and lo == pytest.approx(1 - 0.161125, abs=1e-6)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = [((i * 37) % 101) / 101 for i in range(40)]
    a = bootstrap_interval(values, seed=7)
    b = bootstrap_interval(values, seed=7)
    c = bootstrap_interval(values, seed=8)
    assert a == b
    assert a != c
    assert a[0] < sum(values) / len(values) < a[1]


def test_bootstrap_degenerate_cases():
    assert bootstrap_interval([0.25, 0.25, 0.25]) == (0.25, 0.25)
    assert bootstrap_interval([0.3]) == (0.3, 0.3)


def test_summarize_skips_not_applicable_and_picks_the_method():
    m = summarize("acc", [1.0, 0.0, None, 1.0, 1.0])
    assert m.n == 4 and m.value == 0.75 and m.method == "wilson"
    assert (m.ci_low, m.ci_high) == wilson_interval(3, 4)
    f = summarize("f1", [0.5, 0.25, 1.0], seed=3)
    assert f.method.startswith("bootstrap") and f.value == pytest.approx(0.583333, abs=1e-6)
    assert (f.ci_low, f.ci_high) == bootstrap_interval([0.5, 0.25, 1.0], seed=3)
    empty = summarize("x", [None, None])
    assert empty.n == 0 and math.isnan(empty.value)
