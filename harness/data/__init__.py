"""Training data: example readers (chat, alpaca, prompt/completion, text), the
PII census of a training file, and contamination between training data and suites.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "Example": "_examples",
    "FORMATS": "_examples",
    "parse_example": "_examples",
    "read_examples": "_examples",
    "scan_data": "_census",
    "words": "_contamination",
    "ngrams": "_contamination",
    "jaccard": "_contamination",
    "TrainingIndex": "_contamination",
    "CaseContamination": "_contamination",
    "ContaminationResult": "_contamination",
    "check_contamination": "_contamination",
    "DEFAULT_NGRAM": "_contamination",
    "DEFAULT_NEAR": "_contamination",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
