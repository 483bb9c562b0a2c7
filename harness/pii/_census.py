"""PII counts without values: a census of many texts, and the census file that
``finegate pii scan`` writes and the ``dp_if_pii`` gate reads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, Problem, read_json_file
from finegate.harness.pii._scanner import Finding


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


CENSUS_FORMAT = "finegate-pii-census/1"

CENSUS_FILE = "pii_census.json"

SAMPLE_FILE = "pii_sample.jsonl"


def write_census(folder: str | Path, summary: dict[str, Any], sample: list[dict[str, Any]]) -> Path:
    """``pii_census.json`` and ``pii_sample.jsonl`` into ``folder``, each atomically."""
    import json

    from finegate.harness.core import atomic_write_text

    out = Path(folder)
    atomic_write_text(
        out / SAMPLE_FILE,
        "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in sample),
    )
    atomic_write_text(out / CENSUS_FILE, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return out / CENSUS_FILE


def read_census(path: str | Path) -> dict[str, Any]:
    """A census written by ``finegate pii scan``, checked for the fields gates read."""
    p = Path(path)
    if p.is_dir():
        p = p / CENSUS_FILE
    data = read_json_file(p, what="PII census")
    if not isinstance(data, dict) or data.get("format") != CENSUS_FORMAT:
        raise InputError(
            Problem(
                f"not a PII census (format is not {CENSUS_FORMAT!r})", file=str(p), field="format"
            )
        )
    problems = [
        Problem("missing or not a number", file=str(p), field=key)
        for key in ("total", "examples")
        if not isinstance(data.get(key), int)
    ]
    if problems:
        raise InputError(problems)
    return data
