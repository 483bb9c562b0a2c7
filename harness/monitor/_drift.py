"""Two-sample drift tests: MMD², a domain classifier's AUC, PSI, and
Benjamini-Hochberg across them.

Each test answers "does the window come from the same distribution as the
reference?" from a different angle, and each returns a frozen result that says
what it was computed on and how its p-value was obtained:

- **MMD²** (maximum mean discrepancy) on embeddings sees any change of the
  embedding distribution, the whole shape at once, with no model to fit. Its
  p-value is a permutation p-value, exact under exchangeability.
- **Domain-classifier AUC** asks whether a logistic regression can tell window
  texts from reference texts, out of fold; 0.5 means it cannot (no drift).
  Its out-of-fold probabilities also rank the window texts that look least like
  the reference.
- **PSI** (population stability index) on one descriptor's shares (length bins,
  language, refusal, format, category) says *what* moved, in a number risk
  teams already read; its p-value is a permutation p-value of the counts.

Several tests on one window multiply the chances of a false alarm, hence BH.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from finegate.harness.core import InputError

PSI_EPSILON = 1e-4
"""The share given to an empty bin, so that PSI stays finite when a window
holds a category the reference never showed (or the other way round)."""

DEFAULT_PERMUTATIONS = 500
DEFAULT_FOLDS = 5


@dataclass(frozen=True, kw_only=True)
class DriftTest:
    """One test of one window against one reference.

    ``p_value`` comes from the test itself (``p_method`` says how);
    ``calibrated_p_value`` from the statistic's null distribution on splits of
    the reference (see ``calibrate``), when a calibration was run.
    """

    name: str
    statistic: float
    p_value: float
    p_method: str
    n_reference: int
    n_window: int
    computed_on: str
    calibrated_p_value: float | None = None


@dataclass(frozen=True, kw_only=True)
class MMDResult(DriftTest):
    """MMD² (unbiased) with a Gaussian kernel of width ``bandwidth``."""

    bandwidth: float
    permutations: int


@dataclass(frozen=True, kw_only=True)
class ClassifierResult(DriftTest):
    """The out-of-fold AUC of a reference-vs-window classifier; ``window_scores``
    holds each window text's out-of-fold probability of being a window text."""

    folds: int
    window_scores: tuple[float, ...] = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class PSIResult(DriftTest):
    """PSI of one descriptor, with the counts it was computed from."""

    bins: tuple[str, ...]
    reference_counts: tuple[int, ...]
    window_counts: tuple[int, ...]


# -- MMD² ------------------------------------------------------------------------------


def squared_distances(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Pairwise squared Euclidean distances between the rows of ``a`` and ``b``
    (``a`` with itself when ``b`` is None, with an exact zero diagonal)."""
    a = np.asarray(a, dtype=np.float64)
    other = a if b is None else np.asarray(b, dtype=np.float64)
    d2 = (a * a).sum(1)[:, None] + (other * other).sum(1)[None, :] - 2.0 * a @ other.T
    np.maximum(d2, 0.0, out=d2)
    if b is None:
        np.fill_diagonal(d2, 0.0)
    return d2


def median_bandwidth(points: np.ndarray) -> float:
    """The median heuristic: the median Euclidean distance over all distinct
    pairs of rows. Pairs at distance zero (duplicate texts) are left out when
    they are the majority, since a zero width makes every kernel value 0 or 1;
    1.0 when every row is the same."""
    n = len(points)
    if n < 2:
        raise InputError("median_bandwidth needs at least two points")
    d = np.sqrt(squared_distances(points)[np.triu_indices(n, k=1)])
    width = float(np.median(d))
    if width == 0.0:
        positive = d[d > 0]
        width = float(np.median(positive)) if positive.size else 1.0
    return width


def gaussian_kernel(d2: np.ndarray, bandwidth: float) -> np.ndarray:
    """k(x, y) = exp(-||x - y||² / (2 bandwidth²))."""
    return np.exp(-d2 / (2.0 * bandwidth * bandwidth))


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, bandwidth: float) -> float:
    """The unbiased estimator of MMD² between samples ``x`` (m rows) and ``y``
    (n rows): the mean kernel within x over pairs i != j, plus the same within
    y, minus twice the mean kernel across. It can be slightly negative when the
    samples are alike; its expectation is 0 exactly when they come from one
    distribution."""
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise InputError("MMD² needs at least two rows on each side")
    kxx = gaussian_kernel(squared_distances(x), bandwidth)
    kyy = gaussian_kernel(squared_distances(y), bandwidth)
    kxy = gaussian_kernel(squared_distances(x, y), bandwidth)
    within_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * kxy.mean())


def mmd2_by_membership(kernel: np.ndarray, members: np.ndarray) -> np.ndarray:
    """MMD² for many splits of one pooled sample at once.

    ``kernel`` is the pooled kernel matrix; each row of ``members`` (0/1, one
    column per pooled point) marks one split's first sample. Three quadratic
    forms per row replace a fresh kernel matrix per split, which is what makes
    hundreds of permutations cheap.
    """
    a = np.atleast_2d(members).astype(np.float64)
    b = 1.0 - a
    m, n = a.sum(1), b.sum(1)
    diag = np.diag(kernel)
    ka = a @ kernel
    within_x = (ka * a).sum(1) - a @ diag
    across = (ka * b).sum(1)
    within_y = ((b @ kernel) * b).sum(1) - b @ diag
    return within_x / (m * (m - 1)) + within_y / (n * (n - 1)) - 2.0 * across / (m * n)


def permutation_p(statistic: float, null: np.ndarray) -> float:
    """(1 + #{null >= statistic}) / (1 + len(null)): never 0, and valid at any
    number of resamples. A tiny tolerance counts float noise as a tie."""
    null = np.asarray(null, dtype=np.float64)
    hits = int(np.count_nonzero(null >= statistic - 1e-12 * max(1.0, abs(statistic))))
    return (1 + hits) / (1 + len(null))


def mmd_test(
    reference: np.ndarray,
    window: np.ndarray,
    *,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = 0,
    computed_on: str = "embeddings",
) -> MMDResult:
    """MMD² between reference and window embeddings, the bandwidth set by the
    median heuristic on the pooled sample, and a permutation p-value: the
    pooled rows are relabelled at random ``permutations`` times (seeded) and
    p = (1 + #{permuted MMD² >= observed}) / (1 + permutations)."""
    if permutations < 1:
        raise InputError(f"permutations: must be at least 1, got {permutations}")
    m, n = len(reference), len(window)
    if m < 2 or n < 2:
        raise InputError("MMD² needs at least two rows on each side")
    pooled = np.vstack([reference, window])
    bandwidth = median_bandwidth(pooled)
    kernel = gaussian_kernel(squared_distances(pooled), bandwidth)
    labels = np.r_[np.ones(m), np.zeros(n)]
    statistic = float(mmd2_by_membership(kernel, labels)[0])
    rng = np.random.default_rng(seed)
    null = np.concatenate(
        [
            mmd2_by_membership(kernel, rng.permuted(np.tile(labels, (size, 1)), axis=1))
            for size in _chunks(permutations, 100)
        ]
    )
    return MMDResult(
        name="mmd",
        statistic=statistic,
        p_value=permutation_p(statistic, null),
        p_method=f"permutation ({permutations} relabellings, seed {seed})",
        n_reference=m,
        n_window=n,
        computed_on=computed_on,
        bandwidth=bandwidth,
        permutations=permutations,
    )


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - start) for start in range(0, total, size)]


# -- domain classifier -----------------------------------------------------------------


def out_of_fold_scores(
    reference: np.ndarray, window: np.ndarray, *, folds: int = DEFAULT_FOLDS, seed: int = 0
) -> tuple[np.ndarray, int]:
    """Each row's probability of being a window row, from a logistic
    regression that never saw that row (stratified k-fold, shuffled with
    ``seed``); classes are weighted to balance, since a reference is usually
    larger than a window. Returns the scores (reference rows first) and the
    number of folds used (at most the smaller side's size)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    x = np.vstack([reference, window])
    y = np.r_[np.zeros(len(reference), dtype=int), np.ones(len(window), dtype=int)]
    k = min(folds, len(reference), len(window))
    if k < 2:
        raise InputError("the domain classifier needs at least two texts on each side")
    scores = np.empty(len(y))
    for train, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y):
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
        model.fit(x[train], y[train])
        scores[test] = model.predict_proba(x[test])[:, 1]
    return scores, k


def auc_and_p(reference_scores: np.ndarray, window_scores: np.ndarray) -> tuple[float, float]:
    """AUC = P(window score > reference score) + P(tie) / 2, which is the
    Mann-Whitney U of the window scores over m n; the one-sided p-value (AUC
    above 0.5) is the Mann-Whitney normal approximation with tie and
    continuity corrections."""
    from scipy.stats import mannwhitneyu

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all scores tied: p is nan
        result = mannwhitneyu(
            window_scores, reference_scores, alternative="greater", method="asymptotic"
        )
    auc = float(result.statistic) / (len(window_scores) * len(reference_scores))
    p = float(result.pvalue)
    return auc, 1.0 if math.isnan(p) else p


def classifier_test(
    reference: np.ndarray,
    window: np.ndarray,
    *,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    computed_on: str = "embeddings",
) -> ClassifierResult:
    """Domain-classifier drift: reference rows labelled 0, window rows 1,
    a logistic regression's out-of-fold AUC. 0.5 means no drift, 1.0 that the
    window is told apart perfectly.

    The p-value is the Mann-Whitney normal approximation (one-sided: only AUC
    above 0.5 is drift), which treats the out-of-fold scores as independent.
    They are not: a chance cluster of window texts is learnt by every fold
    that trains on it, so the AUC varies more than Mann-Whitney assumes, and
    this p-value is too small under no drift (at a nominal 5%, about 10% of
    same-distribution windows of generated tickets). A permutation p-value
    would refit the classifier hundreds of times per window; the calibration
    does that once per reference, and ``check_drift`` alarms on the larger of
    the two p-values.
    """
    if folds < 2:
        raise InputError(f"folds: must be at least 2, got {folds}")
    scores, k = out_of_fold_scores(reference, window, folds=folds, seed=seed)
    m = len(reference)
    auc, p = auc_and_p(scores[:m], scores[m:])
    return ClassifierResult(
        name="classifier_auc",
        statistic=auc,
        p_value=p,
        p_method="Mann-Whitney normal approximation, one-sided",
        n_reference=m,
        n_window=len(window),
        computed_on=computed_on,
        folds=k,
        window_scores=tuple(float(s) for s in scores[m:]),
    )


# -- PSI -------------------------------------------------------------------------------


def psi(
    reference_counts: Sequence[int], window_counts: Sequence[int], epsilon: float = PSI_EPSILON
) -> float:
    """Population stability index: sum over bins of (w - r) ln(w / r), with r
    and w each side's share of the bin and an empty bin's share raised to
    ``epsilon``. Rules of thumb: under 0.1 stable, 0.1-0.25 a moderate shift,
    above 0.25 a major one."""
    r = np.asarray(reference_counts, dtype=np.float64)
    w = np.asarray(window_counts, dtype=np.float64)
    if r.shape != w.shape or r.sum() <= 0 or w.sum() <= 0:
        raise InputError("psi needs two count vectors of one length, each with a positive total")
    r = np.maximum(r / r.sum(), epsilon)
    w = np.maximum(w / w.sum(), epsilon)
    return float(((w - r) * np.log(w / r)).sum())


def counts_of(
    reference: Sequence[str], window: Sequence[str], bins: Sequence[str] | None = None
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Each side's count per bin; the bins are ``bins`` or, by default, every
    value seen, the reference's first in order of appearance."""
    names = list(bins) if bins is not None else list(dict.fromkeys([*reference, *window]))
    index = {b: i for i, b in enumerate(names)}
    ref = np.bincount([index[v] for v in reference], minlength=len(names))
    win = np.bincount([index[v] for v in window], minlength=len(names))
    return tuple(names), ref, win


def psi_permutation_null(
    reference_counts: np.ndarray,
    window_counts: np.ndarray,
    *,
    permutations: int,
    seed: int,
    epsilon: float = PSI_EPSILON,
) -> np.ndarray:
    """PSI after relabelling the pooled texts at random, ``permutations`` times.

    Shuffling which texts are the window's, with each text keeping its value,
    draws the window's counts from a multivariate hypergeometric distribution
    with the pooled counts as colours: numpy draws them all at once.
    """
    totals = np.asarray(reference_counts, dtype=np.int64) + np.asarray(window_counts)
    n_win = int(np.sum(window_counts))
    n_ref = int(totals.sum()) - n_win
    rng = np.random.default_rng(seed)
    win = rng.multivariate_hypergeometric(totals, n_win, size=permutations).astype(np.float64)
    r = np.maximum((totals - win) / n_ref, epsilon)
    w = np.maximum(win / n_win, epsilon)
    return ((w - r) * np.log(w / r)).sum(1)


def psi_test(
    name: str,
    reference: Sequence[str],
    window: Sequence[str],
    *,
    computed_on: str,
    bins: Sequence[str] | None = None,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = 0,
) -> PSIResult:
    """PSI of one categorical descriptor (each text's value, e.g. its
    language), with a permutation p-value: p = (1 + #{permuted PSI >= PSI}) /
    (1 + permutations). Exact at any count, where a chi-square test of the
    same counts is not: descriptor tables are sparse (a category at 2% of the
    reference expects under one text in a window of 40), and there the
    chi-square approximation can give p-values a few times too small."""
    names, ref, win = counts_of(reference, window, bins)
    statistic = psi(ref, win)
    null = psi_permutation_null(ref, win, permutations=permutations, seed=seed)
    return PSIResult(
        name=name,
        statistic=statistic,
        p_value=permutation_p(statistic, null),
        p_method=f"permutation ({permutations} relabellings, seed {seed})",
        n_reference=len(reference),
        n_window=len(window),
        computed_on=computed_on,
        bins=names,
        reference_counts=tuple(int(c) for c in ref),
        window_counts=tuple(int(c) for c in win),
    )


# -- multiple tests --------------------------------------------------------------------


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (scipy's ``false_discovery_control``):
    p_(i) m / i for the i-th smallest of m, made monotone from the largest
    down and capped at 1. Rejecting every test whose adjusted p is at most
    alpha keeps the expected share of false discoveries at most alpha, and
    under no drift at all (every null true) the chance of any alarm too."""
    if len(p_values) == 0:
        return []
    p = np.asarray(p_values, dtype=np.float64)
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise InputError("p_values: each must lie in [0, 1]")
    from scipy.stats import false_discovery_control

    return [float(v) for v in false_discovery_control(p, method="bh")]
