"""Every table of a finegate store, in SQLAlchemy Core.

Values are JSON text: nothing is pickled, so a store can be read by any tool.
The registry's and the audit log's tables are declared here too (the store owns
the schema and its migrations); what their rows mean is the registry's business.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()


meta_table = Table(
    "finegate_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


runs_table = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("run_key", String(64), nullable=False, index=True),
    Column("label", Text),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("finished_at", String(32)),
    Column("system_name", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("system_json", Text, nullable=False),
    Column("suites_json", Text, nullable=False),
    Column("environment_json", Text, nullable=False),
    Column("options_json", Text, nullable=False),
    Column("timings_json", Text),
)


records_table = Table(
    "records",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("suite_id", String(255), primary_key=True),
    Column("case_id", String(255), primary_key=True),
    Column("suite_hash", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("request_json", Text, nullable=False),
    Column("output_json", Text, nullable=False),
    Column("scores_json", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("facts_json", Text),
)


metrics_table = Table(
    "metrics",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("suite_id", String(255), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("suite_hash", String(64), nullable=False),
    Column("value", Float),
    Column("n", Integer, nullable=False),
    Column("ci_low", Float),
    Column("ci_high", Float),
    Column("level", Float, nullable=False),
    Column("method", Text, nullable=False),
)


verdicts_table = Table(
    "verdicts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", String(32), nullable=False),
    Column("policy_id", String(255), nullable=False),
    Column("policy_hash", String(64), nullable=False, index=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("baseline_run_id", String(64)),
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("verdict_json", Text, nullable=False),
)


audit_table = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("created_at", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("actor", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("artifacts_json", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)


model_versions_table = Table(
    "model_versions",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("created_at", String(32), nullable=False),
    Column("source", Text),
    Column("lineage_json", Text, nullable=False),
)


aliases_table = Table(
    "model_aliases",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("alias", String(255), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("set_at", String(32), nullable=False),
)


alias_events_table = Table(
    "model_alias_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("alias", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("previous", Integer),
    Column("action", String(32), nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text),
    Column("at", String(32), nullable=False),
)


approvals_table = Table(
    "model_approvals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("by", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", String(32), nullable=False),
)


responses_table = Table(
    "responses",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("response_json", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
)


statements_table = Table(
    "statements",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False, index=True),
    Column("subject", String(64), nullable=False, index=True),
    Column("ref", Text),
    Column("created_at", String(32), nullable=False),
    Column("envelope_json", Text, nullable=False),
)


release_rules_table = Table(
    "release_rules",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("created_at", String(32), nullable=False),
    Column("envelope_json", Text, nullable=False),
)


# -- serving: the request log and the feedback on it -------------------------------------

serve_requests_table = Table(
    "serve_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("at", String(32), nullable=False, index=True),
    Column("caller_hash", String(64)),
    Column("name", String(255), nullable=False),
    Column("version", Integer),
    Column("alias", String(64)),
    Column("fingerprint", String(64)),
    Column("endpoint", String(32), nullable=False),
    Column("prompt", Text),
    Column("answer", Text),
    Column("text_form", String(16), nullable=False),  # "redacted" or "raw"
    Column("pii_json", Text, nullable=False),
    Column("flags_json", Text, nullable=False),
    Column("latency_ms", Float),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("cost", Float),
    Column("status", Integer, nullable=False),
    Column("error", Text),
)


serve_feedback_table = Table(
    "serve_feedback",
    metadata,
    Column("request_id", String(64), primary_key=True),  # once per request, by the database
    Column("at", String(32), nullable=False),
    Column("caller_hash", String(64), nullable=False),
    Column("thumbs", String(8)),
    Column("task_completed", Integer),
)


# -- monitoring: one row per look at live traffic ---------------------------------------

monitor_reports_table = Table(
    "monitor_reports",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("at", String(32), nullable=False, index=True),
    Column("name", String(255), nullable=False, index=True),
    Column("canary_version", Integer),
    Column("production_version", Integer),
    Column("status", String(16), nullable=False),  # pass | fail | undecided | error
    Column("report_json", Text, nullable=False),  # windows, drift, A/B, gates, action
    Column("statement", String(64)),  # the signed monitor verdict, when one was signed
)
