"""The viewer as a plain function from a request to a response, no sockets.

Keeping HTTP out of the pages means the rules that make the viewer safe are in
one place and testable without a server: only GET and HEAD are answered, only
requests addressed to a loopback name (a page on another site cannot reach the
viewer through DNS rebinding), every error is a page that says what went wrong
and never a traceback, and every response forbids scripts and outside assets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.exc import DatabaseError

from finegate.harness.core import InputError, StoreError
from finegate.harness.store import Store
from finegate.harness.view import _compare, _governance, _look, _monitor, _runs, _serving
from finegate.harness.view._html import (
    CONTENT_SECURITY_POLICY,
    Markup,
    PageError,
    document,
    esc,
    link,
)
from finegate.harness.view._page import Page

log = logging.getLogger("finegate.view")

ALLOWED_METHODS = ("GET", "HEAD")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Response:
    """What the server sends: a status, the page's bytes and the headers."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def _host_name(host: str) -> str:
    """``127.0.0.1`` from ``127.0.0.1:8765``, ``::1`` from ``[::1]:8765``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Viewer:
    """The pages over one store, opened read-only.

    ``respond(method, target, host)`` answers one request. The store is opened
    once, here, so a store that cannot be shown (missing, not a finegate store,
    an older schema that would need migrating) is refused before anything
    listens; each request then reads on a fresh read-only connection.
    """

    def __init__(
        self,
        store: Store | str | Path | None = None,
        *,
        runs_per_page: int = 100,
        records_per_page: int = 100,
        verdicts_per_page: int = 50,
        audit_per_page: int = 100,
        requests_per_page: int = 50,
        looks_per_page: int = 100,
    ):
        if isinstance(store, Store):
            if not store.read_only:
                raise InputError("the viewer reads a store opened with read_only=True")
            self.store = store
        else:
            self.store = Store(store, read_only=True)
        self.runs_per_page = runs_per_page
        self.records_per_page = records_per_page
        self.verdicts_per_page = verdicts_per_page
        self.audit_per_page = audit_per_page
        self.requests_per_page = requests_per_page
        self.looks_per_page = looks_per_page

    # -- requests -----------------------------------------------------------------------

    def respond(self, method: str, target: str, host: str | None = None) -> Response:
        """One request: its method, its target (path and query) and its Host header."""
        if method not in ALLOWED_METHODS:
            return self._error(
                405,
                "Method not allowed",
                f"This viewer is read-only: it answers GET and HEAD, not {method}.",
                extra=[("Allow", ", ".join(ALLOWED_METHODS))],
            )
        if host is not None and _host_name(host) not in LOOPBACK_NAMES:
            return self._error(
                421,
                "Not addressed to this viewer",
                "This viewer answers requests addressed to 127.0.0.1, ::1 or localhost only.",
            )
        try:
            page = self._route(target)
        except PageError as e:
            return self._error(e.status, e.title, e.message)
        except StoreError as e:
            log.warning("finegate view: %s", e)
            return self._error(503, "The store cannot be read", str(e))
        except DatabaseError as e:  # read by this package's own queries, not Store's
            log.warning("finegate view: %s: %s", self.store.location, e)
            return self._error(
                503,
                "The store cannot be read",
                f"{self.store.location}: {getattr(e, 'orig', None) or e}",
            )
        except Exception as e:  # a page must never show a traceback; the log keeps it
            log.exception("finegate view: %s failed", target)
            return self._error(
                500,
                "This page could not be shown",
                f"{type(e).__name__}: {e}. The details are in the terminal running "
                "`finegate view`.",
            )
        return self._html(
            200, document(page.title, page.body, store=self.store.location, active=page.active)
        )

    def _route(self, target: str) -> Page:
        parts = urlsplit(target)
        path = parts.path or "/"
        query = parse_qs(parts.query, keep_blank_values=True)

        def one(name: str) -> str | None:
            values = query.get(name)
            return values[-1] if values else None

        def page_number() -> int:
            raw = one("page")
            if raw is None or raw == "":
                return 1
            if not raw.isdigit() or int(raw) < 1:
                raise PageError(
                    400, "Bad page number", f"page must be a whole number from 1, not {raw!r}."
                )
            return int(raw)

        if path in ("/", "/runs", "/runs/"):
            return _runs.index_page(self.store, page_number(), self.runs_per_page)
        if path.startswith("/runs/"):
            ref = unquote(path[len("/runs/") :])
            if not ref or "/" in ref:
                raise PageError(404, "Not found", f"There is no page at {path}.")
            return _runs.run_page(self.store, ref, page_number(), self.records_per_page)
        if path == "/compare":
            return _compare.compare_page(self.store, one("a") or None, one("b") or None)
        if path == "/verdicts":
            return _governance.verdicts_page(self.store, page_number(), self.verdicts_per_page)
        if path == "/audit":
            return _governance.audit_page(self.store, page_number(), self.audit_per_page)
        if path == "/registry":
            return _governance.registry_page(self.store)
        if path == "/serving":
            return _serving.serving_page(self.store, page_number(), self.requests_per_page)
        if path in ("/monitor", "/monitor/"):
            return _monitor.monitor_page(
                self.store,
                one("name") or None,
                page_number(),
                self.looks_per_page,
                self.audit_per_page,
            )
        if path.startswith("/monitor/"):
            ref = unquote(path[len("/monitor/") :])
            if "/" in ref:
                raise PageError(404, "Not found", f"There is no page at {path}.")
            return _look.look_page(self.store, ref, self.audit_per_page)
        raise PageError(404, "Not found", f"There is no page at {path}.")

    # -- responses ----------------------------------------------------------------------

    def _html(self, status: int, text: str, extra: list[tuple[str, str]] | None = None) -> Response:
        body = text.encode("utf-8")
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
            *(extra or []),
        ]
        return Response(status, body, headers)

    def _error(
        self, status: int, title: str, message: str, extra: list[tuple[str, str]] | None = None
    ) -> Response:
        lines = "".join(f"<p>{esc(line)}</p>" for line in message.splitlines() if line.strip())
        body = Markup(
            f'<h1>{esc(title)}</h1><div class="banner fail" role="alert">{lines}</div>'
            f"<p>{link('/', '← all runs')}</p>"
        )
        return self._html(status, document(title, body, store=self.store.location), extra)
