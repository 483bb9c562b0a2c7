"""Running the app: on a port from the command line, or in a thread for tests and
notebooks (``ServerThread``, ``serving``)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from finegate.harness.serve._aliases import AliasFollower
from finegate.harness.serve._app import ServeOptions, create_app, require_server_libraries
from finegate.harness.system import System

Served = System | AliasFollower


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def serve(
    system: Served,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    options: ServeOptions | None = None,
    log_level: str = "info",
) -> None:
    """Serve until interrupted."""
    require_server_libraries()
    import uvicorn

    uvicorn.run(create_app(system, options), host=host, port=port, log_level=log_level)


class ServerThread:
    """A server in a background thread of this process, on a free loopback port:
    ``with ServerThread(system) as url: ...`` (the URL ends in ``/v1``)."""

    def __init__(self, system: Served, options: ServeOptions | None = None, port: int = 0):
        require_server_libraries()
        import uvicorn

        self.port = port or free_port()
        self.app = create_app(system, options)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start on port {self.port}")
            time.sleep(0.01)
        return self.url

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextlib.contextmanager
def serving(system: Served, options: ServeOptions | None = None) -> Iterator[str]:
    with ServerThread(system, options) as url:
        yield url
