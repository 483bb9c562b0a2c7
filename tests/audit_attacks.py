"""What someone with write access to the database does to the audit log: edit
records and recompute every hash after them, so the chain verifies again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from finegate.harness.registry import GENESIS, record_hash


def raw_sql(location: str | Path, statement: str, *args: Any) -> None:
    """Run one statement (``?`` placeholders) on a store's database directly, as
    someone holding its credentials would: a SQLite file or a server URL."""
    url = str(location) if "://" in str(location) else f"sqlite:///{location}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.paramstyle != "qmark":
                statement = statement.replace("?", "%s")
            conn.exec_driver_sql(statement, tuple(args))
    finally:
        engine.dispose()


def rewrite_log(location: str | Path, chain: list[dict[str, Any]]) -> None:
    """Replace the log with ``chain``, renumbered and re-hashed link by link."""
    prev = GENESIS
    raw_sql(location, "DELETE FROM audit_log")
    for seq, record in enumerate(chain, start=1):
        record = {**record, "seq": seq, "prev_hash": prev}
        record["hash"] = prev = record_hash(record)
        raw_sql(
            location,
            "INSERT INTO audit_log VALUES (?,?,?,?,?,?,?,?,?)",
            seq,
            record["created_at"],
            record["action"],
            record["actor"],
            record["subject"],
            json.dumps(record["payload"]),
            json.dumps(record["artifacts"]),
            record["prev_hash"],
            record["hash"],
        )


def append_rules_record(store: Any, version: int, digest: str) -> None:
    """Append an audit record of the release rules, as finegate writes one: the
    log only grows, so every kept checkpoint is still extended."""
    from finegate.harness.registry import audit

    with store.transaction() as conn:
        audit.append(
            conn,
            action="rules",
            actor="root",
            subject="release-rules",
            payload={"version": version},
            artifacts={"rules": digest},
        )
