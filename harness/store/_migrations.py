"""The schema version and the migrations that bring an older store up to it.

A store records its schema version in ``finegate_meta``. Opening an older store
applies every migration after its version in one transaction (a failure leaves
it as it was); a newer store, or a database that is not a finegate store, is
refused and left byte-for-byte untouched.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.engine import Connection

from finegate.harness.core import StoreError
from finegate.harness.store._schema import (
    alias_events_table,
    aliases_table,
    approvals_table,
    audit_table,
    meta_table,
    metadata,
    model_versions_table,
    monitor_reports_table,
    release_rules_table,
    runs_table,
    serve_feedback_table,
    serve_requests_table,
    statements_table,
    verdicts_table,
)

SCHEMA_VERSION = 9
LOG_ORIGIN_KEY = "audit_log_origin"


def _add_facts(conn: Connection) -> None:
    """Version 2: scorers keep per-case facts (predicted and gold labels, ...)
    for corpus metrics such as macro F1."""
    conn.exec_driver_sql("ALTER TABLE records ADD COLUMN facts_json TEXT")


def _add_verdicts(conn: Connection) -> None:
    """Version 3: gate verdicts, so promotion can check them later."""
    verdicts_table.create(conn)


def _add_registry(conn: Connection) -> None:
    """Version 4: the model registry and the hash-chained audit log."""
    for table in (
        audit_table,
        model_versions_table,
        aliases_table,
        alias_events_table,
        approvals_table,
    ):
        table.create(conn)


def _add_statements(conn: Connection) -> None:
    """Version 5: signed statements (in-toto, in DSSE envelopes) and the signed
    release rules the registry promotes by."""
    statements_table.create(conn)
    release_rules_table.create(conn)


def _add_log_origin(conn: Connection) -> None:
    """Version 6: the audit log's origin, the name its signed checkpoints carry,
    so a checkpoint of one store is never taken for another's."""
    conn.execute(
        meta_table.insert().values(key=LOG_ORIGIN_KEY, value=f"finegate.audit/{uuid.uuid4().hex}")
    )


_MEASURED_AFTER_LOADING = ("exposure", "mia", "extraction")


def _without_fingerprints(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_fingerprints(v) for k, v in value.items() if k != "fingerprint"}
    if isinstance(value, list):
        return [_without_fingerprints(v) for v in value]
    return value


def _one_fingerprint_per_model(conn: Connection) -> None:
    """Version 7: a model's fingerprint no longer changes when it loads (it named
    the dtype loading chose, ``torch.float32``, instead of the one asked for).
    Privacy runs, measured after loading, are given the fingerprint of the
    evaluation runs of the same system (the same description, fingerprints
    aside), so reports and gates find them; one with no such run, or with runs
    of several fingerprints, is left as it was."""
    rows = conn.execute(
        select(
            runs_table.c.id, runs_table.c.kind, runs_table.c.fingerprint, runs_table.c.system_json
        )
    ).all()
    seen: dict[str, dict[str, str]] = {}
    for _, kind, fingerprint, system_json in rows:
        if kind not in _MEASURED_AFTER_LOADING:
            key = json.dumps(_without_fingerprints(json.loads(system_json)), sort_keys=True)
            seen.setdefault(key, {})[fingerprint] = system_json
    for run_id, kind, fingerprint, system_json in rows:
        if kind not in _MEASURED_AFTER_LOADING:
            continue
        key = json.dumps(_without_fingerprints(json.loads(system_json)), sort_keys=True)
        found = seen.get(key, {})
        if len(found) == 1 and fingerprint not in found:
            ((new, system),) = found.items()
            conn.execute(
                update(runs_table)
                .where(runs_table.c.id == run_id)
                .values(fingerprint=new, system_json=system)
            )


def _add_request_log(conn: Connection) -> None:
    """Version 8: the serving request log and the feedback callers give on it."""
    serve_requests_table.create(conn, checkfirst=True)
    serve_feedback_table.create(conn, checkfirst=True)


def _add_monitor_reports(conn: Connection) -> None:
    """Version 9: the monitor's looks at live traffic (windows, drift, A/B, gates)."""
    monitor_reports_table.create(conn, checkfirst=True)


# version -> function upgrading a store from version-1 to version, in one transaction
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    2: _add_facts,
    3: _add_verdicts,
    4: _add_registry,
    5: _add_statements,
    6: _add_log_origin,
    7: _one_fingerprint_per_model,
    8: _add_request_log,
    9: _add_monitor_reports,
}


def prepare_schema(conn: Connection, location: str) -> None:
    """Create the tables of an empty database, or migrate an older store, inside
    the caller's transaction."""
    tables = set(inspect(conn).get_table_names())
    if not tables:
        metadata.create_all(conn)
        conn.execute(meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        _add_log_origin(conn)
        return
    if "finegate_meta" not in tables:
        raise StoreError(
            f"{location}: this database is not a finegate store "
            f"(tables: {', '.join(sorted(tables))}); it was left untouched"
        )
    row = conn.execute(
        select(meta_table.c.value).where(meta_table.c.key == "schema_version")
    ).first()
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{location}: store schema version {version} is newer than this "
            f"finegate understands ({SCHEMA_VERSION}); upgrade finegate. The store "
            "was left untouched"
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[target](conn)
    if version < SCHEMA_VERSION:
        conn.execute(
            update(meta_table)
            .where(meta_table.c.key == "schema_version")
            .values(value=str(SCHEMA_VERSION))
        )
