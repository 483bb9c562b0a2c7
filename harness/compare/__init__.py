"""Paired comparison of two runs case by case, and answer drift."""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "shared_suites": "_pairing",
    "Comparison": "_comparison",
    "MetricDelta": "_comparison",
    "FlippedCase": "_comparison",
    "Usage": "_comparison",
    "compare_runs": "_comparison",
    "save_comparison": "_saved",
    "AnswerChange": "_drift",
    "Drift": "_drift",
    "answer_drift": "_drift",
    "answer_format": "_drift",
    "save_drift": "_drift",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
