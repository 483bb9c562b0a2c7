"""The PII census of a training file (``finegate pii scan``): counts by entity
type, a redacted sample and a JSON summary in the shape of the training
manifest's ``pii`` block, which the ``dp_if_pii`` gate reads. Values never
leave the scanner unmasked."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from finegate.harness.pii import CENSUS_FORMAT, Finding, PIIScanner, census


def scan_data(
    path: str | Path,
    scanner: PIIScanner,
    *,
    data_format: str | None = None,
    sample: int = 20,
    on_progress: Any = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Census of a training file (chat, alpaca, prompt/completion or text JSONL):
    the summary (JSON-ready, no values) and up to ``sample`` redacted examples
    that held PII. Every malformed line is reported before anything is scanned."""
    from finegate.harness.core import sha256_file
    from finegate.harness.data._examples import read_examples
    from finegate.harness.stats import wilson_interval

    examples = read_examples(path, data_format)
    per_example: list[list[Finding]] = []
    examples_by_type: Counter[str] = Counter()
    redacted: list[dict[str, Any]] = []
    for i, ex in enumerate(examples):
        found = [scanner.scan(m.content) for m in ex.messages]
        flat = [f for fs in found for f in fs]
        per_example.append(flat)
        examples_by_type.update({f.entity_type for f in flat})
        if flat and len(redacted) < sample:
            redacted.append(
                {
                    "line": ex.line,
                    "messages": [
                        {"role": m.role, "content": scanner.redact(m.content, fs)}
                        for m, fs in zip(ex.messages, found, strict=True)
                    ],
                    "found": sorted(f.entity_type for f in flat),
                }
            )
        if on_progress is not None:
            on_progress(f"PII scan {Path(path).name}", i + 1, len(examples))
    summary = census(per_example).to_dict()
    n, k = summary["texts"], summary["texts_with_pii"]
    lo, hi = wilson_interval(k, n) if n else (None, None)
    summary = {
        "format": CENSUS_FORMAT,
        "file": Path(path).name,
        "sha256": sha256_file(path),
        "examples": n,
        "examples_with_pii": k,
        "rate": k / n if n else None,
        "rate_ci": [lo, hi],
        "total": summary["total"],
        "by_type": summary["by_type"],
        "examples_by_type": dict(sorted(examples_by_type.items())),
        "distinct_values": summary["distinct_values"],
        "max_value_repeats": summary["max_value_repeats"],
        "scrubbed": False,
        "scanner": scanner.describe(),
    }
    return summary, redacted
