"""Feedback on answered requests: once per request, only by the caller it was
answered for, only on a request this server issued and logged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from finegate.harness.store import Store, now_iso, serve_feedback_table, serve_requests_table

THUMBS = ("up", "down")


class FeedbackRefused(Exception):
    def __init__(self, status: int, message: str, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


@dataclass(frozen=True)
class Feedback:
    request_id: str
    thumbs: str | None
    task_completed: bool | None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Feedback:
        request_id = body.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise FeedbackRefused(400, "request_id must be the id of an answer", "request_id")
        thumbs = body.get("thumbs")
        if thumbs is not None and thumbs not in THUMBS:
            raise FeedbackRefused(400, "thumbs must be 'up' or 'down'", "thumbs")
        done = body.get("task_completed")
        if done is not None and not isinstance(done, bool):
            raise FeedbackRefused(400, "task_completed must be true or false", "task_completed")
        if thumbs is None and done is None:
            raise FeedbackRefused(400, "give thumbs, task_completed or both")
        return cls(request_id, thumbs, done)


def record_feedback(store: Store, feedback: Feedback, caller_hash: str) -> dict[str, Any]:
    """Store ``feedback``; the logged request it names is returned (its version)."""
    requests, table = serve_requests_table, serve_feedback_table
    try:
        with store.transaction() as conn:
            answered = (
                conn.execute(
                    select(
                        requests.c.caller_hash,
                        requests.c.name,
                        requests.c.version,
                        requests.c.alias,
                    ).where(requests.c.id == feedback.request_id, requests.c.status == 200)
                )
                .mappings()
                .first()
            )
            if answered is None:
                raise FeedbackRefused(
                    404, f"no answered request {feedback.request_id!r} is in this server's log"
                )
            if answered["caller_hash"] != caller_hash:
                raise FeedbackRefused(403, "that request was answered for another caller")
            conn.execute(
                table.insert().values(
                    request_id=feedback.request_id,
                    at=now_iso(),
                    caller_hash=caller_hash,
                    thumbs=feedback.thumbs,
                    task_completed=None
                    if feedback.task_completed is None
                    else int(feedback.task_completed),
                )
            )
    except IntegrityError:
        raise FeedbackRefused(
            409, f"feedback on request {feedback.request_id!r} was already given"
        ) from None
    return dict(answered)
