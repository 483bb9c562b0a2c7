"""SQLite specifics: a file is checked before it is opened, and connections take
the write lock up front so two writers wait for each other instead of failing."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from finegate.harness.core import InputError, StoreError

SQLITE_HEADER = b"SQLite format 3\x00"


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLite itself manage transactions (see sqlite_begin): the sqlite3 module
    # otherwise commits before DDL, and a failed migration would be half-applied.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError:
        pass  # a corrupt file fails here first; opening the store reports it with the store's name
    finally:
        cur.close()


def sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get("finegate_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def check_sqlite_file(path: Path, create: bool) -> None:
    """Refuse a folder, a file that is not SQLite, or (unless ``create``) no file."""
    if path.exists():
        if path.is_dir():
            raise StoreError(f"{path}: is a folder, not a store file")
        with path.open("rb") as fh:
            head = fh.read(16)
        if head and head != SQLITE_HEADER:
            raise StoreError(
                f"{path}: not a SQLite database (corrupt, or another kind of file); "
                "it was left untouched: move it away or name another store with --store"
            )
    elif not create:
        raise InputError(f"{path}: store not found")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)


def read_only_sqlite(path: Path) -> Engine:
    """``mode=ro`` alone would create a WAL store's ``-wal`` and ``-shm`` files and
    could not remove them: while no writer holds the store (no ``-wal``) each new
    connection is ``immutable`` and creates nothing; while one does, ``mode=ro``
    reads its commits from the files it made."""
    target = path.expanduser().resolve()

    def connect() -> sqlite3.Connection:
        immutable = "" if Path(f"{target}-wal").exists() else "&immutable=1"
        conn = sqlite3.connect(f"{target.as_uri()}?mode=ro{immutable}", uri=True)
        conn.isolation_level = None  # sqlite_begin begins each transaction
        conn.execute("PRAGMA query_only=ON")
        return conn

    engine = create_engine("sqlite://", creator=connect, poolclass=NullPool)
    event.listen(engine, "begin", sqlite_begin)
    return engine
