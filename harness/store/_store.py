"""The results store: runs, per-case records, metrics and the response cache.

One SQLite file by default (WAL, one transaction per write), any SQLAlchemy URL
for a team (PostgreSQL). The schema carries a version; an older store is
migrated in one transaction, a newer one or a file that is not a finegate store
is refused with a clear error and never touched. Every value is JSON text:
nothing is pickled, so a store can be read by any tool. One opened ``read_only``
(the viewer) is read as it is: never created, never migrated, never written.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import (
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError

from finegate.harness.core import InputError, MetricValue, StoreError, default_store_url
from finegate.harness.store._dialects import insert_new, take_write_lock
from finegate.harness.store._migrations import prepare_schema
from finegate.harness.store._rows import (
    from_json,
    nan_if_null,
    new_run_id,
    now_iso,
    null_if_nan,
    run_from_row,
    to_json,
)
from finegate.harness.store._schema import (
    metrics_table,
    records_table,
    responses_table,
    runs_table,
    verdicts_table,
)
from finegate.harness.store._sqlite import (
    check_sqlite_file,
    read_only_sqlite,
    sqlite_begin,
    sqlite_pragmas,
)

P = ParamSpec("P")


R = TypeVar("R")


def _guard(method: Callable[P, R]) -> Callable[P, R]:
    """Turn a database failure into a ``StoreError`` that names the store."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except DatabaseError as e:
            store = args[0]
            raise StoreError(
                f"{store.location}: the store cannot be read or written "
                f"({e.orig if hasattr(e, 'orig') else e})"
            ) from None

    return wrapper


class Store:
    """Open (or create) a results store at a path or SQLAlchemy URL; ``read_only``
    opens one as it is (a server database is as read-only as the URL's role)."""

    def __init__(
        self, location: str | Path | None = None, *, create: bool = True, read_only: bool = False
    ):
        loc = str(location) if location is not None else default_store_url()
        self.location, self.read_only = loc, read_only
        if "://" in loc:
            url = loc
            self.path: Path | None = (
                Path(loc.split(":///", 1)[1]) if loc.startswith("sqlite:///") else None
            )
        else:
            self.path = Path(loc).expanduser()
            url = f"sqlite:///{self.path}"
        if self.path is not None:
            check_sqlite_file(self.path, create and not read_only)
        if read_only and self.path is not None:
            self.engine: Engine = read_only_sqlite(self.path)
        else:
            self.engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite" and not read_only:
            event.listen(self.engine, "connect", sqlite_pragmas)
            event.listen(self.engine, "begin", sqlite_begin)
        self._init_schema()

    def _init_schema(self) -> None:
        """Create or migrate the schema; read-only, only check it (a change fails)."""
        try:
            with self.engine.connect() if self.read_only else self.transaction() as conn:
                prepare_schema(conn, self.location)
        except DatabaseError as e:
            why = (
                ": it is empty, or older than this finegate and needs upgrading, and a store "
                "opened read-only is never changed; open it once with finegate for writing "
                f"(e.g. `finegate runs list --store {self.location}`)"
                if self.read_only and "readonly" in str(e.orig)
                else ""
            )
            raise StoreError(
                f"{self.location}: the store cannot be opened ({e.orig}){why}; "
                "it was left untouched"
            ) from None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction, one at a time per store. On SQLite it takes the
        write lock up front (BEGIN IMMEDIATE), so two writers wait for each other
        instead of failing when one upgrades a read to a write. On PostgreSQL it
        takes a transaction-scoped advisory lock first: a registry action reads
        the state it decides on (the latest version, an alias, the approvals) and
        writes in the same transaction, so two writers on different machines
        that share only the URL decide in turn, never on a stale read; the lock
        goes with the transaction, also when its process is killed."""
        if self.read_only:
            raise StoreError(f"{self.location}: the store was opened read-only; nothing is written")
        with self.engine.connect() as conn:
            conn = conn.execution_options(finegate_write=True)
            with conn.begin():
                take_write_lock(conn)
                yield conn

    def close(self) -> None:
        self.engine.dispose()

    # -- runs ---------------------------------------------------------------------------

    @_guard
    def create_run(
        self,
        *,
        run_key: str,
        label: str | None,
        kind: str,
        system: dict[str, Any],
        suites: list[dict[str, Any]],
        environment: dict[str, Any],
        options: dict[str, Any],
        join: bool = False,
    ) -> str:
        """A new run; with ``join``, the unfinished run with this key if there is
        one, decided in the same transaction, so shards of one evaluation that
        start at once all join one run."""
        run_id = new_run_id()
        with self.transaction() as conn:
            if join and (found := self._newest_run(run_key, "running", conn)):
                return found
            conn.execute(
                runs_table.insert().values(
                    id=run_id,
                    run_key=run_key,
                    label=label,
                    kind=kind,
                    status="running",
                    created_at=now_iso(),
                    system_name=str(system.get("name", "")),
                    fingerprint=str(system["fingerprint"]),
                    system_json=to_json(system),
                    suites_json=to_json(suites),
                    environment_json=to_json(environment),
                    options_json=to_json(options),
                )
            )
        return run_id

    @_guard
    def find_unfinished(self, run_key: str) -> str | None:
        return self._newest_run(run_key, "running")

    @_guard
    def find_complete(self, run_key: str) -> str | None:
        """The newest complete run with this key: a derived result (a comparison, a
        drift) stored once is found again instead of being stored twice."""
        return self._newest_run(run_key, "complete")

    def _newest_run(self, run_key: str, status: str, conn: Connection | None = None) -> str | None:
        query = (
            select(runs_table.c.id)
            .where(runs_table.c.run_key == run_key, runs_table.c.status == status)
            .order_by(runs_table.c.created_at.desc())
        )
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with self.engine.connect() as own:
                row = own.execute(query).first()
        return row[0] if row else None

    @_guard
    def finish_run(self, run_id: str, *, status: str, timings: dict[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute(
                update(runs_table)
                .where(runs_table.c.id == run_id)
                .values(status=status, finished_at=now_iso(), timings_json=to_json(timings))
            )

    @_guard
    def resolve_run_id(self, ref: str) -> str:
        """A full run id, from an id, a unique prefix, a label, or ``latest``."""
        with self.engine.connect() as conn:
            if ref == "latest":
                row = conn.execute(
                    select(runs_table.c.id).order_by(runs_table.c.created_at.desc())
                ).first()
                if row is None:
                    raise InputError(f"{self.location}: the store holds no runs")
                return str(row[0])
            rows = conn.execute(
                select(runs_table.c.id).where(runs_table.c.id.startswith(ref))
            ).all()
            if not rows:
                rows = conn.execute(
                    select(runs_table.c.id)
                    .where(runs_table.c.label == ref)
                    .order_by(runs_table.c.created_at.desc())
                ).all()[:1]
        if not rows:
            raise InputError(f"no run {ref!r} in {self.location}")
        if len(rows) > 1:
            raise InputError(
                f"run prefix {ref!r} is ambiguous: {', '.join(r[0] for r in rows[:5])}"
            )
        return str(rows[0][0])

    @_guard
    def get_run(self, ref: str) -> dict[str, Any]:
        run_id = self.resolve_run_id(ref)
        with self.engine.connect() as conn:
            row = conn.execute(select(runs_table).where(runs_table.c.id == run_id)).mappings().one()
        return run_from_row(row)

    @_guard
    def list_runs(self, limit: int = 50, kind: str | None = None) -> list[dict[str, Any]]:
        query = select(runs_table).order_by(runs_table.c.created_at.desc()).limit(limit)
        if kind is not None:
            query = query.where(runs_table.c.kind == kind)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [run_from_row(r) for r in rows]

    # -- verdicts -----------------------------------------------------------------------

    @_guard
    def verdicts(
        self,
        *,
        fingerprint: str | None = None,
        policy_hash: str | None = None,
        run_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Stored verdicts, newest first."""
        query = select(verdicts_table.c.verdict_json).order_by(verdicts_table.c.created_at.desc())
        if fingerprint is not None:
            query = query.where(verdicts_table.c.fingerprint == fingerprint)
        if policy_hash is not None:
            query = query.where(verdicts_table.c.policy_hash == policy_hash)
        if run_id is not None:
            query = query.where(verdicts_table.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [json.loads(r[0]) for r in conn.execute(query)]

    # -- records ------------------------------------------------------------------------

    @_guard
    def completed_case_ids(self, run_id: str, suite_id: str) -> set[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(records_table.c.case_id).where(
                    records_table.c.run_id == run_id, records_table.c.suite_id == suite_id
                )
            ).all()
        return {r[0] for r in rows}

    @_guard
    def add_records(
        self,
        run_id: str,
        records: list[dict[str, Any]],
        cache_entries: Iterable[tuple[str, str, dict[str, Any]]] = (),
    ) -> None:
        """Commit a chunk of case records, and the new cache entries behind them,
        in one transaction: after a crash either both are there or neither."""
        stamp = now_iso()
        unique = {k: (kind, v) for k, kind, v in cache_entries}  # a chunk may ask twice
        cache_rows = [
            {"key": k, "kind": kind, "response_json": to_json(v), "created_at": stamp}
            for k, (kind, v) in unique.items()
        ]
        with self.transaction() as conn:
            if cache_rows:
                insert_new(conn, responses_table, cache_rows)
            if records:
                # a case another process stored meanwhile (the same shard run twice at
                # once, say) keeps the record stored first, and this one is dropped
                insert_new(
                    conn,
                    records_table,
                    [
                        {
                            "run_id": run_id,
                            "suite_id": r["suite_id"],
                            "case_id": r["case_id"],
                            "suite_hash": r["suite_hash"],
                            "position": r["position"],
                            "request_json": to_json(r["request"]),
                            "output_json": to_json(r["output"]),
                            "scores_json": to_json(r["scores"]),
                            "facts_json": to_json(r.get("facts") or {}),
                            "created_at": stamp,
                        }
                        for r in records
                    ],
                )

    @_guard
    def records(self, run_id: str, suite_id: str | None = None) -> list[dict[str, Any]]:
        query = select(records_table).where(records_table.c.run_id == run_id)
        if suite_id is not None:
            query = query.where(records_table.c.suite_id == suite_id)
        query = query.order_by(records_table.c.suite_id, records_table.c.position)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {
                "suite_id": r["suite_id"],
                "suite_hash": r["suite_hash"],
                "case_id": r["case_id"],
                "position": r["position"],
                "request": from_json(r["request_json"]),
                "output": from_json(r["output_json"]),
                "scores": from_json(r["scores_json"]),
                "facts": from_json(r["facts_json"]) or {},
                "created_at": r["created_at"],
            }
            for r in rows
        ]

    @_guard
    def overwrite_outputs(
        self,
        run_id: str,
        outputs: list[tuple[str, str, dict[str, Any]]],
        forget_texts: set[str],
    ) -> int:
        """Replace the stored output of each ``(suite_id, case_id, output)`` and drop
        every cached generation whose text is in ``forget_texts``, so the old bytes
        are gone from the file itself (SQLite's secure_delete zeroes freed space;
        the write-ahead log is checkpointed and truncated). Returns the responses
        dropped."""
        keys = []
        with self.engine.connect() as conn:
            for key, body in conn.execute(
                select(responses_table.c.key, responses_table.c.response_json).where(
                    responses_table.c.kind == "generate"
                )
            ):
                if json.loads(body).get("text") in forget_texts:
                    keys.append(key)
        sqlite = self.engine.dialect.name == "sqlite"
        with self.transaction() as conn:
            if sqlite:
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            for suite_id, case_id, output in outputs:
                conn.execute(
                    update(records_table)
                    .where(
                        records_table.c.run_id == run_id,
                        records_table.c.suite_id == suite_id,
                        records_table.c.case_id == case_id,
                    )
                    .values(output_json=to_json(output))
                )
            dropped = 0
            for start in range(0, len(keys), 500):
                dropped += conn.execute(
                    delete(responses_table).where(
                        responses_table.c.key.in_(keys[start : start + 500])
                    )
                ).rowcount
        if sqlite:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return dropped

    # -- metrics ------------------------------------------------------------------------

    @_guard
    def save_metrics(
        self, run_id: str, suite_id: str, suite_hash: str, values: list[MetricValue]
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                delete(metrics_table).where(
                    metrics_table.c.run_id == run_id, metrics_table.c.suite_id == suite_id
                )
            )
            if values:
                conn.execute(
                    metrics_table.insert(),
                    [
                        {
                            "run_id": run_id,
                            "suite_id": suite_id,
                            "suite_hash": suite_hash,
                            "name": m.name,
                            "value": null_if_nan(m.value),
                            "n": m.n,
                            "ci_low": null_if_nan(m.ci_low),
                            "ci_high": null_if_nan(m.ci_high),
                            "level": m.level,
                            "method": m.method,
                        }
                        for m in values
                    ],
                )

    @_guard
    def metrics(self, run_id: str) -> dict[str, list[MetricValue]]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(metrics_table)
                    .where(metrics_table.c.run_id == run_id)
                    .order_by(metrics_table.c.suite_id, metrics_table.c.name)
                )
                .mappings()
                .all()
            )
        out: dict[str, list[MetricValue]] = {}
        for r in rows:
            out.setdefault(r["suite_id"], []).append(
                MetricValue(
                    r["name"],
                    nan_if_null(r["value"]),
                    r["n"],
                    nan_if_null(r["ci_low"]),
                    nan_if_null(r["ci_high"]),
                    r["level"],
                    r["method"],
                )
            )
        return out

    # -- response cache -----------------------------------------------------------------

    @_guard
    def cached_responses(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                for key, text in conn.execute(
                    select(responses_table.c.key, responses_table.c.response_json).where(
                        responses_table.c.key.in_(chunk)
                    )
                ):
                    out[key] = json.loads(text)
        return out

    @_guard
    def cache_size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(responses_table)).scalar_one())

    @_guard
    def export_run(self, ref: str) -> dict[str, Any]:
        run = self.get_run(ref)
        return {
            "run": run,
            "metrics": {s: [m.to_dict() for m in ms] for s, ms in self.metrics(run["id"]).items()},
            "records": self.records(run["id"]),
        }
