"""Rows of the serving request log and its feedback, written straight into a store
the way ``finegate serve`` writes them, for the viewer's tests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from finegate.harness.store import Store, serve_feedback_table, serve_requests_table

START = datetime.fromisoformat("2025-03-01T12:30:00.000+00:00")
CALLER = "ab12cd34" + "ef" * 28  # a salted caller hash: 64 hex characters


def stamp(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).isoformat(timespec="milliseconds")


def request(
    request_id: str,
    minutes: float,
    *,
    name: str = "triage",
    version: int | None = 1,
    alias: str | None = "production",
    endpoint: str = "chat",
    prompt: Any = "route this ticket",
    answer: str | None = "billing",
    text_form: str = "redacted",
    answer_pii: int = 0,
    flags: dict[str, bool] | None = None,
    latency_ms: float = 100.0,
    prompt_tokens: int = 10,
    completion_tokens: int = 2,
    cost: float = 0.001,
    status: int = 200,
    error: str | None = None,
    caller_hash: str = CALLER,
) -> dict[str, Any]:
    found = [{"type": "EMAIL_ADDRESS", "hash": f"h{i}"} for i in range(answer_pii)]
    return {
        "id": request_id,
        "at": stamp(minutes),
        "caller_hash": caller_hash,
        "name": name,
        "version": version,
        "alias": alias,
        "fingerprint": "f" * 64,
        "endpoint": endpoint,
        "prompt": prompt if isinstance(prompt, str) else json.dumps(prompt),
        "answer": answer,
        "text_form": text_form,
        "pii_json": json.dumps({"prompt": [], "answer": found}, sort_keys=True),
        "flags_json": json.dumps(
            flags or {"refusal": False, "invalid_json": False}, sort_keys=True
        ),
        "latency_ms": latency_ms,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost": cost,
        "status": status,
        "error": error,
    }


def feedback(
    request_id: str, thumbs: str | None = None, task_completed: bool | None = None
) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "at": stamp(90),
        "caller_hash": CALLER,
        "thumbs": thumbs,
        "task_completed": None if task_completed is None else int(task_completed),
    }


def write(store: Store, requests: list[dict[str, Any]], given: list[dict[str, Any]]) -> None:
    with store.transaction() as conn:
        if requests:
            conn.execute(serve_requests_table.insert(), requests)
        if given:
            conn.execute(serve_feedback_table.insert(), given)
