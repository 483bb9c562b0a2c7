"""The request log: every request a server answered, with the version that answered.

Prompts and answers pass the PII scanner before they are written; raw text is
kept only when the operator asks for it, and every row says which form it holds.
Writes are grouped: a writer thread commits what arrived in the last few
milliseconds in one transaction, and a request is answered only once its row is
committed, so a ``kill -9`` of the server loses at most the requests it had not
answered yet. Rows older than the retention are deleted as the log runs.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from finegate.harness.store import Store, serve_feedback_table, serve_requests_table


@dataclass(frozen=True)
class LogEntry:
    """One answered (or failed) request, before redaction."""

    id: str
    at: str
    caller_hash: str | None
    name: str
    version: int | None
    alias: str | None
    fingerprint: str | None
    endpoint: str
    prompt: Any  # a string, or a list of {role, content}
    answer: str | None
    latency_ms: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    status: int = 200
    error: str | None = None
    flags: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Logged:
    """What the log learned while writing a row: the PII it found in the answer."""

    answer_pii: int


class RequestLog:
    """Grouped, durable writes of ``LogEntry`` rows into the store.

    ``scanner`` redacts (a ``PIIScanner``); ``raw=True`` keeps the text as it came,
    which the operator must ask for by name (the scanner, if given, still counts
    what it finds). ``retention_days`` deletes older rows
    (and their feedback) at start and then hourly."""

    def __init__(
        self,
        store: Store,
        *,
        scanner: Any = None,
        raw: bool = False,
        retention_days: float | None = 30.0,
        flush_s: float = 0.02,
        max_rows: int = 256,
    ):
        if scanner is None and not raw:
            raise ValueError("a request log redacts with a PII scanner unless raw=True")
        self.store = store
        self.scanner = scanner
        self.raw = raw
        self.retention_days = retention_days
        self.flush_s, self.max_rows = flush_s, max_rows
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._last_purge = 0.0

    @property
    def text_form(self) -> str:
        return "raw" if self.raw else "redacted"

    def start(self) -> None:
        if self.scanner is not None:
            self.scanner.scan("warm up the scanner before the first request")
        self.purge()
        self._thread = threading.Thread(target=self._run, name="finegate-request-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    async def write(self, entry: LogEntry) -> Logged:
        """Return once ``entry`` is committed (or raise what the commit raised)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Logged] = loop.create_future()
        self._queue.put((entry, loop, future))
        return await future

    # -- the writer thread ----------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = [first], False
            deadline = time.monotonic() + self.flush_s
            while len(batch) < self.max_rows:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._commit(batch)
            if stopping:
                return
            if time.monotonic() - self._last_purge > 3600:
                self.purge()

    def _commit(self, batch: list[Any]) -> None:
        try:
            rows, logged = zip(*(self._row(entry) for entry, _, _ in batch), strict=True)
            with self.store.transaction() as conn:
                conn.execute(serve_requests_table.insert(), list(rows))
        except Exception as e:  # every waiting request learns it was not logged
            for _, loop, future in batch:
                loop.call_soon_threadsafe(_fail, future, e)
            return
        for (_, loop, future), result in zip(batch, logged, strict=True):
            loop.call_soon_threadsafe(_succeed, future, result)

    def _text(self, text: str) -> tuple[str, list[dict[str, str]]]:
        """The text as it is kept, and what the scanner found in it: raw text is
        still scanned when a scanner is given, so PII counts hold in both forms."""
        if self.scanner is None:
            return text, []
        redacted, found = self.scanner.redact_and_hash(text)
        return (text if self.raw else redacted), found

    def _row(self, entry: LogEntry) -> tuple[dict[str, Any], Logged]:
        pii: dict[str, list[dict[str, str]]] = {"prompt": [], "answer": []}
        prompt: Any
        if isinstance(entry.prompt, str):
            prompt, pii["prompt"] = self._text(entry.prompt)
        else:
            prompt = []
            for message in entry.prompt:
                content, found = self._text(message["content"])
                prompt.append({"role": message["role"], "content": content})
                pii["prompt"] += found
        answer = None
        if entry.answer is not None:
            answer, pii["answer"] = self._text(entry.answer)
        error = self._text(entry.error)[0] if entry.error else None
        row = {
            "id": entry.id,
            "at": entry.at,
            "caller_hash": entry.caller_hash,
            "name": entry.name,
            "version": entry.version,
            "alias": entry.alias,
            "fingerprint": entry.fingerprint,
            "endpoint": entry.endpoint,
            "prompt": prompt if isinstance(prompt, str) else json.dumps(prompt),
            "answer": answer,
            "text_form": self.text_form,
            "pii_json": json.dumps(pii, sort_keys=True),
            "flags_json": json.dumps(entry.flags, sort_keys=True),
            "latency_ms": entry.latency_ms,
            "prompt_tokens": entry.prompt_tokens,
            "completion_tokens": entry.completion_tokens,
            "cost": entry.cost,
            "status": entry.status,
            "error": error,
        }
        return row, Logged(answer_pii=len(pii["answer"]))

    def purge(self) -> int:
        """Delete the rows older than the retention, with their feedback."""
        self._last_purge = time.monotonic()
        if self.retention_days is None:
            return 0
        cutoff = (datetime.now(UTC) - timedelta(days=self.retention_days)).isoformat(
            timespec="milliseconds"
        )
        old = select(serve_requests_table.c.id).where(serve_requests_table.c.at < cutoff)
        with self.store.transaction() as conn:
            conn.execute(
                delete(serve_feedback_table).where(serve_feedback_table.c.request_id.in_(old))
            )
            return int(
                conn.execute(
                    delete(serve_requests_table).where(serve_requests_table.c.at < cutoff)
                ).rowcount
            )


def _succeed(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
