"""Redaction of a stored run: the raw answers leave the store file, not just the view."""

from __future__ import annotations

from typing import Any

from finegate.harness.store import Store


def redact_run(store: Store, run_ref: str, scanner: Any) -> tuple[int, int]:
    """Overwrite the stored answers of a run with their redacted form and drop
    the cached responses behind them, so the raw text is gone from the store
    file itself (SQLite's secure_delete zeroes freed space; the write-ahead log
    is checkpointed and truncated). Returns (answers changed, responses dropped)."""
    run = store.get_run(run_ref)
    changed, raw_texts = [], set()
    for r in store.records(run["id"]):
        output = dict(r["output"])
        text = output.get("text")
        if isinstance(text, str):
            redacted = scanner.redact(text)
            if redacted != text:
                output["text"] = redacted
                changed.append((r, output))
                raw_texts.add(text)
    dropped = store.overwrite_outputs(
        run["id"], [(r["suite_id"], r["case_id"], output) for r, output in changed], raw_texts
    )
    return len(changed), dropped
