"""Memorisation of a fine-tune's own data: canary exposure, membership inference,
PII extraction, each stored as a run; privacy next to utility; the ``pii_leak`` scorer.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "Canary": "_exposure",
    "canaries_from_manifest": "_exposure",
    "exact_exposure": "_exposure",
    "skewnorm_exposure": "_exposure",
    "measure_canary": "_exposure",
    "measure_exposure": "_exposure",
    "ExposureResult": "_exposure",
    "TokenScores": "_membership",
    "token_logprobs": "_membership",
    "load_examples": "_membership",
    "auc_and_tpr": "_membership",
    "auc_and_tpr_rows": "_membership",
    "attack_metrics": "_membership",
    "membership_inference": "_membership",
    "MembershipResult": "_membership",
    "find_targets": "_extraction",
    "extracted": "_extraction",
    "measure_extraction": "_extraction",
    "ExtractionResult": "_extraction",
    "store_privacy_run": "_runs",
    "latest_privacy_runs": "_runs",
    "PRIVACY_KINDS": "_runs",
    "TradeoffRow": "_tradeoff",
    "tradeoff": "_tradeoff",
    "fmt_metric": "_tradeoff",
    "PIILeak": "_pii_leak",
    "pii_leak_scorer": "_pii_leak",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
