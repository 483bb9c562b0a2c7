"""What someone with write access to the database does to the audit log: edit
records and recompute every hash after them, so the chain verifies again."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from finegate.harness.registry import GENESIS, record_hash


def rewrite_log(path: Path, chain: list[dict[str, Any]]) -> None:
    """Replace the log with ``chain``, renumbered and re-hashed link by link."""
    prev = GENESIS
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM audit_log")
        for seq, record in enumerate(chain, start=1):
            record = {**record, "seq": seq, "prev_hash": prev}
            record["hash"] = prev = record_hash(record)
            conn.execute(
                "INSERT INTO audit_log VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    seq,
                    record["created_at"],
                    record["action"],
                    record["actor"],
                    record["subject"],
                    json.dumps(record["payload"]),
                    json.dumps(record["artifacts"]),
                    record["prev_hash"],
                    record["hash"],
                ),
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
