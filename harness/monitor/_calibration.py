"""Thresholds calibrated on the reference itself.

A test's own p-value (a permutation p-value, or the Mann-Whitney
approximation for the classifier) assumes that every text is an independent
draw and, for the classifier, that out-of-fold scores behave like independent
ones. Real references are lumpy (near-duplicate prompts, a few long documents,
rare categories). So each statistic is also judged against its own null
distribution, measured on the reference, where by construction there is no
drift:

1. draw a random chunk of ``window_size`` reference texts without replacement
   (the pseudo-window); the other ``n_reference - window_size`` texts are the
   pseudo-reference;
2. compute every statistic of the check between pseudo-reference and
   pseudo-window exactly as for a real window: MMD² (bandwidth by the median
   heuristic on the pooled sample, which is the whole reference), the domain
   classifier's out-of-fold AUC (the same folds setting), and each
   descriptor's PSI (length bins from the pseudo-reference's quantiles;
   categories from the reference's out-of-fold predictions, so no text is
   categorised by a model that saw its label);
3. repeat ``splits`` times (split s uses ``numpy.random.default_rng(seed)``'s
   s-th draw, and fold seed ``seed + 1 + s``);
4. a window's calibrated p-value for a statistic t is
   (1 + #{null values >= t}) / (1 + splits).

The pseudo-reference is smaller than the real reference by one window, which
makes the null a little wider than the real one. One way it is narrower: a
pseudo-window can never hold more texts of a rare kind than the reference
does, where a real window can; that is why ``check_drift`` takes, per test,
the larger of the two p-values. The smallest calibrated p-value is 1 / (1 + splits);
with Benjamini-Hochberg over m tests a single test can raise an alarm alone
only when 1 / (1 + splits) <= alpha / m, hence the default of 200 splits
(m = 7 and alpha = 0.05 need at least 139).

A calibration depends on the reference and the window size only, so a monitor
makes it once and reuses it for every window of that size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from finegate.harness.core import InputError
from finegate.harness.monitor._descriptors import CategoryClassifier, descriptor_psis, take
from finegate.harness.monitor._drift import (
    DEFAULT_FOLDS,
    auc_and_p,
    gaussian_kernel,
    median_bandwidth,
    mmd2_by_membership,
    out_of_fold_scores,
    permutation_p,
    squared_distances,
)
from finegate.harness.monitor._embed import TextEncoder
from finegate.harness.monitor._reference import (
    PreparedReference,
    check_positive,
    prepare_reference,
)

DEFAULT_SPLITS = 200


@dataclass(frozen=True)
class Calibration:
    """The null distribution of every statistic of a check, measured on
    ``splits`` random splits of one reference into a pseudo-window of
    ``window_size`` texts and the rest."""

    reference_digest: str
    n_reference: int
    window_size: int
    splits: int
    folds: int
    seed: int
    null: Mapping[str, tuple[float, ...]] = field(repr=False)
    prepared: PreparedReference | None = field(default=None, repr=False, compare=False)
    """The reference as embedded and described for this calibration: a check
    with this calibration reuses it instead of preparing the reference again."""

    def p_value(self, name: str, statistic: float) -> float:
        """(1 + #{null >= statistic}) / (1 + splits) for the test ``name``."""
        return permutation_p(statistic, np.asarray(self.null[name]))

    def threshold(self, name: str, alpha: float) -> float:
        """The value a statistic must exceed for a calibrated p-value of at most
        ``alpha`` (before any multiple-test adjustment); infinity when
        ``alpha`` is below 1 / (1 + splits)."""
        allowed = int(np.floor(alpha * (1 + self.splits) + 1e-9)) - 1
        if allowed < 0:
            return float("inf")
        ordered = np.sort(np.asarray(self.null[name]))[::-1]
        return float(ordered[allowed]) if allowed < len(ordered) else float("-inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference_digest": self.reference_digest,
            "n_reference": self.n_reference,
            "window_size": self.window_size,
            "splits": self.splits,
            "folds": self.folds,
            "seed": self.seed,
            "null": {k: list(v) for k, v in self.null.items()},
        }


def calibrate(
    reference: Sequence[str],
    window_size: int,
    *,
    reference_labels: Sequence[str] | None = None,
    classifier: CategoryClassifier | None = None,
    embedder: TextEncoder | None = None,
    splits: int = DEFAULT_SPLITS,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
) -> Calibration:
    """Calibrate every statistic of ``check_drift`` on ``reference`` for windows
    of ``window_size`` texts (the procedure is in this module's docstring).

    Pass the same ``reference_labels`` or ``classifier``, encoder, ``folds``
    and ``seed`` to ``check_drift`` as here: the check refuses a calibration
    made on other inputs, and reuses this one's embedded reference.
    """
    check_positive(window_size, "window_size", 2)
    check_positive(splits, "splits", 1)
    prepared, _ = prepare_reference(
        reference,
        labels=reference_labels,
        classifier=classifier,
        embedder=embedder,
        folds=folds,
        seed=seed,
    )
    return calibrate_prepared(prepared, window_size, splits=splits, folds=folds, seed=seed)


def calibrate_prepared(
    prepared: PreparedReference, window_size: int, *, splits: int, folds: int, seed: int
) -> Calibration:
    """``calibrate`` on a reference already embedded and described."""
    check_positive(window_size, "window_size", 2)
    check_positive(splits, "calibration_splits", 1)
    n = len(prepared.texts)
    if n - window_size < 2:
        raise InputError(
            f"reference: calibration for windows of {window_size} texts needs at least "
            f"{window_size + 2} reference texts, got {n} (three windows' worth or more "
            "keeps the calibrated null close to the real one)"
        )
    rng = np.random.default_rng(seed)
    chunks = [np.sort(rng.choice(n, size=window_size, replace=False)) for _ in range(splits)]
    null: dict[str, list[float]] = {"mmd": _mmd_null(prepared.embeddings, chunks)}
    null["classifier_auc"] = []
    for s, chunk in enumerate(chunks):
        rest = np.setdiff1d(np.arange(n), chunk, assume_unique=True)
        emb = prepared.embeddings
        scores, _ = out_of_fold_scores(emb[rest], emb[chunk], folds=folds, seed=seed + 1 + s)
        null["classifier_auc"].append(auc_and_p(scores[: len(rest)], scores[len(rest) :])[0])
        psis = descriptor_psis(take(prepared.descriptors, rest), take(prepared.descriptors, chunk))
        for name, value in psis.items():
            null.setdefault(name, []).append(value)
    return Calibration(
        reference_digest=prepared.digest,
        n_reference=n,
        window_size=window_size,
        splits=splits,
        folds=folds,
        seed=seed,
        null={k: tuple(float(x) for x in v) for k, v in null.items()},
        prepared=prepared,
    )


def _mmd_null(embeddings: np.ndarray, chunks: list[np.ndarray]) -> list[float]:
    """MMD² of every split from the reference's one kernel matrix: the pooled
    sample of every split is the whole reference, so its bandwidth is too."""
    kernel = gaussian_kernel(squared_distances(embeddings), median_bandwidth(embeddings))
    out: list[float] = []
    for start in range(0, len(chunks), 100):
        block = chunks[start : start + 100]
        members = np.ones((len(block), len(embeddings)))
        for row, chunk in enumerate(block):
            members[row, chunk] = 0.0  # pseudo-reference 1, pseudo-window 0
        out.extend(float(v) for v in mmd2_by_membership(kernel, members))
    return out
