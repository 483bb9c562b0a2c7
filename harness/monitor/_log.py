"""Reading live traffic back from the request log, as windows per version.

The server writes one row per answered request (``serve_requests``) and callers
rate answers once (``serve_feedback``). The monitor reads them as frozen
``LoggedRequest`` values, selected by model name and alias, the newest N
(a window by count) or those since a time (a window by time), and digests the
rows it read, so a signed verdict names exactly the traffic it rests on and a
re-check finds a row changed since.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from finegate.harness.core import InputError, sha256_json
from finegate.harness.store import Store, serve_feedback_table, serve_requests_table

GENERATION_ENDPOINTS = ("chat", "completions")


@dataclass(frozen=True)
class LoggedRequest:
    """One answered request as the log kept it (texts redacted unless the server
    ran with raw logging), with the caller's feedback when there is any."""

    id: str
    at: str
    caller: str | None
    name: str
    version: int | None
    alias: str | None
    fingerprint: str | None
    prompt: str
    answer: str
    answer_pii: int
    flags: dict[str, Any]
    latency_s: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None
    thumbs: str | None = None
    task_completed: bool | None = None

    def fields(self) -> list[Any]:
        """What a verdict reads of the row: the digest covers these."""
        return [
            self.id,
            self.at,
            self.caller,
            self.version,
            self.alias,
            self.fingerprint,
            self.prompt,
            self.answer,
            self.answer_pii,
            self.flags,
            self.latency_s,
            self.prompt_tokens,
            self.completion_tokens,
            self.cost,
            self.thumbs,
            self.task_completed,
        ]


def prompt_text(stored: str | None) -> str:
    """The text of a logged prompt: chat messages (stored as JSON) are joined by
    their contents, the last user turn last."""
    if not stored:
        return ""
    if stored.startswith("[") and stored.endswith("]"):
        try:
            messages = json.loads(stored)
        except ValueError:
            return stored
        if isinstance(messages, list) and all(isinstance(m, dict) for m in messages):
            return "\n".join(str(m.get("content", "")) for m in messages)
    return stored


def _request(row: Any) -> LoggedRequest:
    pii = json.loads(row.pii_json or "{}")
    latency = row.latency_ms / 1000.0 if row.latency_ms is not None else None
    done = row.task_completed
    return LoggedRequest(
        id=row.id,
        at=row.at,
        caller=row.caller_hash,
        name=row.name,
        version=row.version,
        alias=row.alias,
        fingerprint=row.fingerprint,
        prompt=prompt_text(row.prompt),
        answer=row.answer or "",
        answer_pii=len(pii.get("answer", [])),
        flags=json.loads(row.flags_json or "{}"),
        latency_s=latency,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        cost=row.cost,
        thumbs=row.thumbs,
        task_completed=None if done is None else bool(done),
    )


def _query() -> Any:
    r, f = serve_requests_table, serve_feedback_table
    return (
        select(
            r.c.id,
            r.c.at,
            r.c.caller_hash,
            r.c.name,
            r.c.version,
            r.c.alias,
            r.c.fingerprint,
            r.c.prompt,
            r.c.answer,
            r.c.pii_json,
            r.c.flags_json,
            r.c.latency_ms,
            r.c.prompt_tokens,
            r.c.completion_tokens,
            r.c.cost,
            f.c.thumbs,
            f.c.task_completed,
        )
        .select_from(r.outerjoin(f, f.c.request_id == r.c.id))
        .where(r.c.status == 200, r.c.endpoint.in_(GENERATION_ENDPOINTS))
    )


def read_requests(
    store: Store,
    name: str,
    *,
    alias: str | None = None,
    version: int | None = None,
    since: str | None = None,
    until: str | None = None,
    last: int | None = None,
) -> list[LoggedRequest]:
    """Answered generation requests of ``name``, oldest first: those at or after
    ``since`` and before ``until`` (ISO times), narrowed to an alias and a
    version, and of those the newest ``last``."""
    if last is not None and last < 1:
        raise InputError(f"a window by count holds at least 1 request, not {last}")
    r = serve_requests_table
    query = _query().where(r.c.name == name)
    if alias is not None:
        query = query.where(r.c.alias == alias)
    if version is not None:
        query = query.where(r.c.version == version)
    if since is not None:
        query = query.where(r.c.at >= since)
    if until is not None:
        query = query.where(r.c.at < until)
    query = query.order_by(r.c.at.desc(), r.c.id.desc())
    if last is not None:
        query = query.limit(last)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [_request(row) for row in reversed(rows)]


def requests_by_id(store: Store, ids: Sequence[str]) -> dict[str, LoggedRequest]:
    """The logged requests with these ids that are still in the log."""
    found: dict[str, LoggedRequest] = {}
    r = serve_requests_table
    unique = list(dict.fromkeys(ids))
    with store.engine.connect() as conn:
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            for row in conn.execute(_query().where(r.c.id.in_(chunk))).all():
                found[row.id] = _request(row)
    return found


def requests_digest(requests: Sequence[LoggedRequest]) -> str:
    """One digest over every field a monitor verdict reads of these rows."""
    return sha256_json([q.fields() for q in requests])
