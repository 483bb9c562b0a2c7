"""Per-case scorers, their registry, and the metrics computed from their scores.

The built-in scorers of this package (match, JSON, classification, cost,
overlap) register when the package is imported; those that stand on a higher
floor (judge, refusal, toxicity, policy rules, PII leaks) register through the
``finegate.scorers`` entry point group, like a user's plugin.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

# The built-in scorers of this floor register themselves on import.
from finegate.harness.scorer import _classify, _cost, _json, _match, _overlap  # noqa: F401

_EXPORTS = {
    "Score": "_registry",
    "Scored": "_registry",
    "Scores": "_registry",
    "ScoreFn": "_registry",
    "ScorerFactory": "_registry",
    "scorer": "_registry",
    "scorers": "_registry",
    "scorer_version": "_registry",
    "is_reference_free": "_registry",
    "LoadedScorer": "_registry",
    "load_scorer": "_registry",
    "as_scored": "_registry",
    "score_all": "_registry",
    "metric_key": "_metrics",
    "score_chunk": "_metrics",
    "compute_metrics": "_metrics",
    "resampled_aggregate": "_metrics",
    "token_f1_of": "_match",
    "answer_field": "_json",
    "reference_field": "_json",
    "classification_report": "_classify",
    "resampled_report": "_classify",
    "confusion_matrix": "_classify",
    "split_sentences": "_overlap",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
