"""Moving a store to another database (SQLite to PostgreSQL, or back): every
table, row for row, in one transaction on the target.

The target must be a new store: its tables empty. Its meta rows (schema
version, the audit log's origin) become the source's, so a checkpoint kept for
the old store's log still names the moved one, and the log's tree head is the
same on both sides. The source is read in one snapshot and never written; a
copy that fails leaves the target as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import Connection

from finegate.harness.core import InputError, Problem
from finegate.harness.store._schema import meta_table, metadata
from finegate.harness.store._store import Store

BATCH = 1000


@dataclass(frozen=True)
class CopiedStore:
    """What was moved: the row count of each table, the same on both sides."""

    source: str
    target: str
    rows: dict[str, int]


def _counts(conn: Connection) -> dict[str, int]:
    return {
        t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for t in metadata.sorted_tables
    }


def copy_store(
    source: Store, target: Store, on_table: Callable[[str, int], None] | None = None
) -> CopiedStore:
    """Copy ``source`` into the empty store ``target``; refuse a target with rows."""
    with source.engine.connect() as read:
        if read.dialect.name == "postgresql":
            read = read.execution_options(isolation_level="REPEATABLE READ")
        with read.begin(), target.transaction() as write:
            held = {n: c for n, c in _counts(write).items() if c and n != meta_table.name}
            if held:
                listing = ", ".join(f"{name} ({n} rows)" for name, n in sorted(held.items()))
                raise InputError(
                    Problem(
                        f"the target store is not empty: {listing}; a store is moved into a "
                        "new, empty database only, so nothing of either is mixed or "
                        "overwritten",
                        file=target.location,
                    )
                )
            write.execute(delete(meta_table))
            for table in metadata.sorted_tables:
                result = read.execution_options(stream_results=True).execute(select(table))
                copied = 0
                while batch := result.fetchmany(BATCH):
                    write.execute(table.insert(), [dict(r._mapping) for r in batch])
                    copied += len(batch)
                if on_table is not None:
                    on_table(table.name, copied)
            if write.dialect.name == "postgresql":
                _advance_sequences(write)
            moved, kept = _counts(read), _counts(write)
            if moved != kept:  # raised inside the transaction: the target stays empty
                raise InputError(
                    Problem(
                        f"the copy does not match its source (source {moved}, target "
                        f"{kept}); nothing was written",
                        file=target.location,
                    )
                )
    return CopiedStore(source.location, target.location, kept)


def _advance_sequences(conn: Connection) -> None:
    """Rows copied with their ids leave PostgreSQL's id sequences at the start:
    the next insert would reuse an id. Each sequence resumes after the largest."""
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            if column.autoincrement is True:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                        f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                    )
                )
