"""Logged traffic written straight into a store's request log, as the server
writes it: for tests of what the monitor reads back (the server's own tests
cover the writing)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from finegate.harness.store import Store, serve_feedback_table, serve_requests_table

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def log_requests(store: Store, rows: list[dict[str, Any]]) -> list[str]:
    """Insert requests (defaults filled in); each may carry ``thumbs`` and
    ``task_completed`` feedback. Returns their ids."""
    requests, feedback = [], []
    for i, given in enumerate(rows):
        row = dict(given)
        thumbs, done = row.pop("thumbs", None), row.pop("task_completed", None)
        at = START + timedelta(seconds=row.pop("second", i))
        full = {
            "id": row.pop("id", f"req-{i:05d}"),
            "at": at.isoformat(),
            "caller_hash": row.pop("caller", f"caller-{i % 7}"),
            "name": "triage",
            "version": 1,
            "alias": "production",
            "fingerprint": "f" * 64,
            "endpoint": "chat",
            "prompt": "My invoice is wrong",
            "answer": '{"category": "billing"}',
            "text_form": "redacted",
            "pii_json": json.dumps({"prompt": [], "answer": row.pop("answer_pii", [])}),
            "flags_json": json.dumps(
                {
                    "refusal": row.pop("refusal", False),
                    "json_requested": False,
                    "invalid_json": False,
                }
            ),
            "latency_ms": 100.0,
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "cost": None,
            "status": 200,
            "error": None,
            **row,
        }
        requests.append(full)
        if thumbs is not None or done is not None:
            feedback.append(
                {
                    "request_id": full["id"],
                    "at": full["at"],
                    "caller_hash": full["caller_hash"],
                    "thumbs": thumbs,
                    "task_completed": None if done is None else int(done),
                }
            )
    with store.transaction() as conn:
        conn.execute(serve_requests_table.insert(), requests)
        if feedback:
            conn.execute(serve_feedback_table.insert(), feedback)
    return [r["id"] for r in requests]
