"""The local, read-only web viewer over the results store: runs with their
metrics and intervals, paired comparisons, verdicts, the audit log, the
registry, the serving request log and the production monitor's looks, as
server-rendered pages with no script and nothing from the network.

It listens on loopback only and opens the store read-only (never created, never
migrated); ``finegate view`` serves it until interrupted, ``ViewerThread`` in a
thread on a free port.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "Viewer": "_app",
    "Response": "_app",
    "ALLOWED_METHODS": "_app",
    "LOOPBACK": "_server",
    "check_host": "_server",
    "make_server": "_server",
    "server_url": "_server",
    "serve_view": "_server",
    "ViewerThread": "_server",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
