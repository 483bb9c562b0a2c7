"""PII detection with presidio (offline), counts without values, and redaction."""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "PIIScanner": "_scanner",
    "Finding": "_scanner",
    "MODES": "_scanner",
    "DEFAULT_ENTITIES": "_scanner",
    "SPACY_MODEL": "_scanner",
    "pii_salt": "_scanner",
    "hash_value": "_scanner",
    "read_allow_list": "_scanner",
    "Census": "_census",
    "census": "_census",
    "CENSUS_FORMAT": "_census",
    "CENSUS_FILE": "_census",
    "SAMPLE_FILE": "_census",
    "write_census": "_census",
    "read_census": "_census",
    "redact_run": "_redaction",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
