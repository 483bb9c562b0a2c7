"""Reports for compliance officers: one self-contained HTML file per candidate
(and Markdown or JSON), from a run, its verdict, its lineage and the audit chain."""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "collect": "_collect",
    "Redactor": "_collect",
    "render": "_render",
    "render_html": "_render",
    "render_markdown": "_render",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
