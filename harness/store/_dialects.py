"""What a write needs from each database: one writer at a time, and inserts that
skip a row already there, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import hashlib
from importlib import import_module
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Connection

WRITE_LOCK = int.from_bytes(hashlib.sha256(b"finegate.store.write").digest()[:8], "big") >> 1
"""The PostgreSQL advisory lock a write transaction holds (a positive 63-bit key)."""


def take_write_lock(conn: Connection) -> None:
    """On PostgreSQL, wait for the store's write lock, held to commit or rollback
    (SQLite's BEGIN IMMEDIATE already holds the database's)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})


def insert_new(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert the rows whose primary key is not there yet. Two writers may add the
    same cache entry at once: a read-then-insert would let the second fail on the
    key, so the database itself skips a duplicate (ON CONFLICT DO NOTHING)."""
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = import_module(f"sqlalchemy.dialects.{dialect}").insert
        conn.execute(insert(table).on_conflict_do_nothing(), rows)
        return
    keys = list(table.primary_key.columns)
    first = keys[0]
    wanted = {r[first.name] for r in rows}
    existing = set(map(tuple, conn.execute(select(*keys).where(first.in_(wanted)))))
    fresh = [r for r in rows if tuple(r[k.name] for k in keys) not in existing]
    if fresh:
        conn.execute(table.insert(), fresh)
