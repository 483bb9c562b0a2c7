"""Agreement between raters beyond chance: Cohen's kappa (two raters) and
Fleiss' kappa (three or more, the same number on every item)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np


def cohen_kappa(
    a: Sequence[str], b: Sequence[str], categories: Sequence[str] | None = None
) -> float:
    """Cohen's kappa of two raters over the same items: (p_o - p_e) / (1 - p_e).
    A category neither rater chose adds nothing to chance agreement, so the
    categories default to those seen."""
    if len(a) != len(b) or not a:
        raise ValueError("two equally long, non-empty rating lists are needed")
    if categories is None:
        categories = sorted(set(a) | set(b))
    n = len(a)
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[c] * cb[c] for c in categories) / (n * n)
    if p_e == 1.0:
        return 1.0 if p_o == 1.0 else math.nan
    return (p_o - p_e) / (1 - p_e)


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa from an items x categories table of how many raters chose
    each category (the same number of raters on every item)."""
    counts = np.asarray(counts, dtype=float)
    n_items = counts.shape[0]
    raters = counts.sum(axis=1)
    if n_items == 0 or np.any(raters != raters[0]) or raters[0] < 2:
        raise ValueError("every item needs the same number (at least 2) of raters")
    m = raters[0]
    p_j = counts.sum(axis=0) / (n_items * m)
    p_i = (np.sum(counts * counts, axis=1) - m) / (m * (m - 1))
    p_bar, p_e = p_i.mean(), float(np.sum(p_j * p_j))
    if p_e == 1.0:
        return 1.0 if p_bar == 1.0 else math.nan
    return float((p_bar - p_e) / (1 - p_e))
