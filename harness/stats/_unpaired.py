"""Two independent samples: live traffic against an evaluation run, or two
production windows, where no case is in both and pairing is impossible."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from finegate.harness.stats._paired import bootstrap_interval_and_p


def unpaired_bootstrap(
    a: np.ndarray,
    b: np.ndarray,
    level: float,
    resamples: int,
    seed: int,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[float, float, float, float]:
    """statistic(b) - statistic(a) (the mean by default) with a percentile
    interval and p-value from resampling each sample on its own. Wider than a
    paired interval on the same numbers: the case-to-case spread is not
    cancelled, which is the honest price of comparing different cases."""
    if a.size == 0 or b.size == 0:
        return math.nan, math.nan, math.nan, math.nan
    stat = statistic or (lambda x: x.mean(axis=-1))
    observed = float(stat(b) - stat(a))
    rng = np.random.default_rng(seed)
    draws_a = stat(a[rng.integers(0, a.size, size=(resamples, a.size))])
    draws_b = stat(b[rng.integers(0, b.size, size=(resamples, b.size))])
    diffs = draws_b - draws_a
    if np.all(diffs == diffs[0]):  # no spread on either side
        return observed, observed, observed, 1.0 if observed == 0 else 0.0
    return (observed, *bootstrap_interval_and_p(diffs, observed, level, resamples))
