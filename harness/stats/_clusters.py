"""Callers as the units of an online A/B: sticky assignment makes one caller's
requests correlated, so the confidence sequences count callers, not requests."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from finegate.harness.core import InputError, Problem
from finegate.harness.stats._sequential import _values


@dataclass(frozen=True)
class CallerUnits:
    """One row per caller, in order of first appearance: the unit of an online A/B."""

    callers: tuple[Hashable, ...]
    arms: tuple[Hashable, ...]
    values: np.ndarray
    requests: np.ndarray

    def of(self, arm: Hashable) -> np.ndarray:
        """The per-caller values of one arm, in order of first appearance."""
        return self.values[self.in_arm(arm)]

    def in_arm(self, arm: Hashable) -> np.ndarray:
        """A mask over callers: True where the caller is in ``arm``."""
        return np.fromiter((a == arm for a in self.arms), bool, len(self.arms))


def per_caller_units(
    callers: Sequence[Hashable],
    arms: Sequence[Hashable],
    values: Sequence[float] | np.ndarray,
    how: Literal["mean", "ratio"] = "mean",
) -> CallerUnits:
    """Reduce per-request rows (caller id, arm, value) to one unit per caller.

    Why: assignment to the canary is sticky per caller, and one caller's requests
    are correlated (the same kind of prompts, the same user). A CS over requests
    treats 10 requests of one caller as 10 independent pieces of evidence, so its
    variance is too small by roughly the design effect 1 + (m - 1) ICC, and its
    false-alarm rate runs far above alpha (docs/statistics.md gives the measured
    rate). Callers are independent of each other, so the CS over callers holds.

    how="mean": each caller's mean over its requests; the CS is then on the mean
    over callers (each caller weighs the same).
    how="ratio": the per-request mean of each arm, R = sum of values / number of
    requests (heavy callers weigh more), via the ratio estimator's linearisation:
    the caller's value is R + (sum_i - R m_i) / mean(m), whose mean over the arm's
    callers is exactly R and whose variance is the delta-method (clustered)
    variance of R. Asymptotic, like the CS itself.

    A caller's value should be settled when it enters the stream (for instance
    its first k requests, or its first day); re-averaging callers as their
    requests arrive is the usual approximation. A caller found in two arms is
    refused: the assignment is not sticky and the arms are not independent.
    """
    x = _values("values", values)
    if len(callers) != x.size or len(arms) != x.size:
        raise InputError(
            Problem(
                f"needs one entry per request: {len(callers)} callers, {len(arms)} arms, "
                f"{x.size} values",
                field="callers",
            )
        )
    if how not in ("mean", "ratio"):
        raise InputError(Problem(f"must be 'mean' or 'ratio', got {how!r}", field="how"))
    idx, order = _codes("callers", callers)
    arm_idx, arm_labels = _codes("arms", arms)
    first = np.full(len(order), x.size)
    np.minimum.at(first, idx, np.arange(x.size))  # each caller's first request
    arm_code = arm_idx[first]
    moved = np.flatnonzero(arm_idx != arm_code[idx])
    if moved.size:
        i, row = idx[moved[0]], moved[0]
        raise InputError(
            Problem(
                f"caller {order[i]!r} appears in arm {arm_labels[arm_code[i]]!r} and in arm "
                f"{arm_labels[arm_idx[row]]!r} (request {row})",
                field="arms",
            ),
            hint="assignment must be sticky per caller; drop or split such callers",
        )
    sums = np.bincount(idx, weights=x, minlength=len(order))
    counts = np.bincount(idx, minlength=len(order)).astype(float)
    out = sums / counts
    if how == "ratio":
        for code in range(len(arm_labels)):
            m = arm_code == code
            ratio = sums[m].sum() / counts[m].sum()
            out[m] = ratio + (sums[m] - ratio * counts[m]) / counts[m].mean()
    arms_of = tuple(arm_labels[c] for c in arm_code.tolist())
    return CallerUnits(tuple(order), arms_of, out, counts.astype(int))


def _codes(name: str, items: Sequence[Hashable]) -> tuple[np.ndarray, list[Hashable]]:
    """Codes 0, 1, ... in order of first appearance, and the labels in that order."""
    if isinstance(items, np.ndarray) and items.ndim == 1 and items.dtype.kind in "biuSU":
        labels, first, inverse = np.unique(items, return_index=True, return_inverse=True)
        rank = np.argsort(first, kind="stable")
        code = np.empty_like(rank)
        code[rank] = np.arange(rank.size)
        return code[inverse.ravel()], labels[rank].tolist()
    seen: dict[Hashable, int] = {}
    try:
        codes = np.fromiter((seen.setdefault(v, len(seen)) for v in items), int, len(items))
    except TypeError as exc:
        raise InputError(Problem(f"must hold hashable ids ({exc})", field=name)) from None
    return codes, list(seen)
