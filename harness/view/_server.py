"""Serving the viewer on loopback: from the command line until interrupted, or in
a thread for tests and notebooks (``ViewerThread``).

The standard library's threading HTTP server is enough for one person's
browser, and needs nothing installed. It binds to a loopback address only: the
store holds prompts, answers and the audit trail, which are not for the
network; a report (``finegate report``) is the way to share them.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, Problem
from finegate.harness.store import Store
from finegate.harness.view._app import Viewer

log = logging.getLogger("finegate.view")

# the names --host accepts, and the address each binds
LOOPBACK = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}


def check_host(host: str) -> str:
    """The loopback address to bind for ``host``; any other host is refused."""
    address = LOOPBACK.get(host.strip().lower().strip("[]"))
    if address is None:
        raise InputError(
            Problem(
                f"{host!r} is not a loopback address: the viewer listens on 127.0.0.1, ::1 "
                "or localhost only, because the store's prompts, answers and audit trail "
                "are not for the network",
                field="--host",
            ),
            hint="to share results, send a report (`finegate report`)",
        )
    return address


def url_of(address: str, port: int) -> str:
    return f"http://[{address}]:{port}/" if ":" in address else f"http://{address}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    """Hands each request to the viewer; any method but GET and HEAD gets 405."""

    server: _Server
    server_version = "finegate-view"
    sys_version = ""
    timeout = 60  # a client that stops talking does not hold a thread forever

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD>; every method other than GET and HEAD,
        # known or invented, is answered (405) by the viewer rather than with 501
        if name.startswith("do_"):
            return lambda: self._answer(head=False)
        raise AttributeError(name)

    def _answer(self, *, head: bool) -> None:
        response = self.server.viewer.respond(self.command, self.path, self.headers.get("Host"))
        self.send_response(response.status)
        for key, value in response.headers:
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: str, port: int, viewer: Viewer):
        self.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.viewer = viewer
        super().__init__((address, port), _Handler)


def make_server(
    store: Viewer | Store | str | Path | None,
    host: str = "127.0.0.1",
    port: int = 8765,
    **options: Any,
) -> _Server:
    """A server bound (not yet serving) on a loopback address; port 0 takes a free one.
    The host is checked before the store is opened, the store before the port."""
    address = check_host(host)
    viewer = store if isinstance(store, Viewer) else Viewer(store, **options)
    try:
        return _Server(address, port, viewer)
    except OSError as e:
        raise InputError(
            Problem(
                f"cannot listen on {url_of(address, port)}: {e.strerror or e}; "
                "choose another --port (0 takes any free one)",
                field="--port",
            )
        ) from None


def server_url(server: _Server) -> str:
    address, port = server.server_address[:2]
    return url_of(str(address), int(port))


def serve_view(
    store: Viewer | Store | str | Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C); ``announce`` is given the URL once it listens."""
    server = make_server(store, host, port)
    try:
        if announce is not None:
            announce(server_url(server))
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class ViewerThread:
    """The viewer in a background thread of this process, on a free loopback port:
    ``with ViewerThread(store_path) as url: ...``."""

    def __init__(
        self,
        store: Viewer | Store | str | Path | None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **options: Any,
    ):
        self.server = make_server(store, host, port, **options)
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="finegate-view", daemon=True
        )

    @property
    def url(self) -> str:
        return server_url(self.server)

    def __enter__(self) -> str:
        self.thread.start()
        return self.url

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
