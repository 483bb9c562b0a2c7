"""Blind human A/B review: sheets for raters, their ratings, and what they say."""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "ReviewItem": "_form",
    "ReviewExport": "_sheets",
    "export_review": "_sheets",
    "review_form": "_form",
    "Rating": "_ratings",
    "load_key": "_ratings",
    "read_ratings": "_ratings",
    "ReviewResult": "_import",
    "import_review": "_import",
    "review_with_judge": "_judge",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
