"""The results store: runs, per-case records, metrics and the response cache.

The store owns the schema and the migrations of every table, the registry's and
the audit log's included; what registry and audit rows mean is the registry's
business, and the store never writes the audit log.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "Store": "_store",
    "copy_store": "_copy",
    "take_write_lock": "_dialects",
    "CopiedStore": "_copy",
    "SCHEMA_VERSION": "_migrations",
    "to_json": "_rows",
    "LOG_ORIGIN_KEY": "_migrations",
    "now_iso": "_rows",
    "new_run_id": "_rows",
    "metadata": "_schema",
    "meta_table": "_schema",
    "runs_table": "_schema",
    "records_table": "_schema",
    "metrics_table": "_schema",
    "verdicts_table": "_schema",
    "audit_table": "_schema",
    "model_versions_table": "_schema",
    "aliases_table": "_schema",
    "alias_events_table": "_schema",
    "approvals_table": "_schema",
    "responses_table": "_schema",
    "statements_table": "_schema",
    "release_rules_table": "_schema",
    "serve_requests_table": "_schema",
    "serve_feedback_table": "_schema",
    "monitor_reports_table": "_schema",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
