"""What the pages read from the store, one page of rows at a time.

``Store``'s own methods answer whole questions (a run, all its records); a
browser pages through lists that can hold thousands of rows, so these queries
ask for one page and a count. They only ever select.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from finegate.harness.store import (
    Store,
    alias_events_table,
    aliases_table,
    audit_table,
    model_versions_table,
    monitor_reports_table,
    records_table,
    runs_table,
    serve_feedback_table,
    serve_requests_table,
    verdicts_table,
)

# Runs made by the runner: their records are answers with scores, so two of them
# on one suite version can be compared case by case. Derived runs (comparisons,
# drifts, reviews) and privacy measurements hold other records.
COMPARABLE_KINDS = ("eval", "baseline")


@dataclass(frozen=True)
class RunRow:
    id: str
    created_at: str
    kind: str
    status: str
    label: str | None
    system_name: str
    fingerprint: str
    suites: list[dict[str, Any]]


def _run_row(r: Any) -> RunRow:
    try:
        suites = json.loads(r["suites_json"]) or []
    except (TypeError, ValueError):
        suites = []
    return RunRow(
        r["id"],
        r["created_at"],
        r["kind"],
        r["status"],
        r["label"],
        r["system_name"],
        r["fingerprint"],
        [s for s in suites if isinstance(s, dict)],
    )


def count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def runs_page(store: Store, page: int, per_page: int) -> tuple[list[RunRow], int]:
    """One page of runs, newest first, and how many runs there are."""
    query = (
        select(runs_table)
        .order_by(runs_table.c.created_at.desc(), runs_table.c.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        total = int(conn.execute(select(func.count()).select_from(runs_table)).scalar_one())
    return [_run_row(r) for r in rows], total


def case_counts(store: Store, run_ids: Iterable[str]) -> dict[str, int]:
    """Records stored per run (an unfinished run counts what it has so far)."""
    ids = list(run_ids)
    if not ids:
        return {}
    query = (
        select(records_table.c.run_id, func.count())
        .where(records_table.c.run_id.in_(ids))
        .group_by(records_table.c.run_id)
    )
    with store.engine.connect() as conn:
        return {run_id: int(n) for run_id, n in conn.execute(query)}


def records_page(
    store: Store, run_id: str, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of a run's case records, in suite and case order, and their count."""
    query = (
        select(records_table)
        .where(records_table.c.run_id == run_id)
        .order_by(records_table.c.suite_id, records_table.c.position, records_table.c.case_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        total = int(
            conn.execute(
                select(func.count())
                .select_from(records_table)
                .where(records_table.c.run_id == run_id)
            ).scalar_one()
        )
    out = []
    for r in rows:
        out.append(
            {
                "suite_id": r["suite_id"],
                "case_id": r["case_id"],
                "position": r["position"],
                "request": _json(r["request_json"]),
                "output": _json(r["output_json"]),
                "scores": _json(r["scores_json"]) or {},
            }
        )
    return out, total


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # shown as the text it is


def comparable_runs(store: Store, run: dict[str, Any], limit: int = 500) -> list[RunRow]:
    """Runs of the runner that share a suite version (id and hash) with ``run``,
    newest first: the runs a comparison with it can pair."""
    if run.get("kind") not in COMPARABLE_KINDS:
        return []
    mine = {(s.get("id"), s.get("hash")) for s in run.get("suites") or [] if isinstance(s, dict)}
    query = (
        select(runs_table)
        .where(runs_table.c.kind.in_(COMPARABLE_KINDS), runs_table.c.id != run["id"])
        .order_by(runs_table.c.created_at.desc(), runs_table.c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        rows = [_run_row(r) for r in conn.execute(query).mappings()]
    return [r for r in rows if mine & {(s.get("id"), s.get("hash")) for s in r.suites}]


def recent_runs(store: Store, kinds: tuple[str, ...], limit: int = 300) -> list[RunRow]:
    query = (
        select(runs_table)
        .where(runs_table.c.kind.in_(kinds))
        .order_by(runs_table.c.created_at.desc(), runs_table.c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [_run_row(r) for r in conn.execute(query).mappings()]


def verdicts_page(store: Store, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of stored verdicts, newest first, each as the gates wrote it."""
    query = (
        select(verdicts_table.c.verdict_json)
        .order_by(verdicts_table.c.created_at.desc(), verdicts_table.c.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    with store.engine.connect() as conn:
        rows = [r[0] for r in conn.execute(query)]
        total = int(conn.execute(select(func.count()).select_from(verdicts_table)).scalar_one())
    out = []
    for text in rows:
        data = _json(text)
        out.append(data if isinstance(data, dict) else {"unreadable": text})
    return out, total


@dataclass(frozen=True)
class RegistryState:
    versions: list[dict[str, Any]]
    aliases: list[dict[str, Any]]
    events: list[dict[str, Any]]
    runs_by_fingerprint: dict[str, list[str]]


def registry_state(store: Store, runs_per_version: int = 5) -> RegistryState:
    """The embedded registry's rows: versions, current aliases, every alias move
    (newest first), and the runs that evaluated each version's fingerprint."""
    with store.engine.connect() as conn:
        versions = [
            dict(r)
            for r in conn.execute(
                select(model_versions_table).order_by(
                    model_versions_table.c.name, model_versions_table.c.version.desc()
                )
            ).mappings()
        ]
        aliases = [
            dict(r)
            for r in conn.execute(
                select(aliases_table).order_by(aliases_table.c.name, aliases_table.c.alias)
            ).mappings()
        ]
        events = [
            dict(r)
            for r in conn.execute(
                select(alias_events_table).order_by(alias_events_table.c.id.desc())
            ).mappings()
        ]
        fingerprints = sorted({v["fingerprint"] for v in versions})
        runs: dict[str, list[str]] = {}
        if fingerprints:
            for run_id, fingerprint in conn.execute(
                select(runs_table.c.id, runs_table.c.fingerprint)
                .where(runs_table.c.fingerprint.in_(fingerprints))
                .order_by(runs_table.c.created_at.desc())
            ):
                held = runs.setdefault(fingerprint, [])
                if len(held) < runs_per_version:
                    held.append(run_id)
    for v in versions:
        v["lineage"] = _json(v.pop("lineage_json", None)) or {}
    return RegistryState(versions, aliases, events, runs)


# -- the serving request log ----------------------------------------------------------

# What the summary reads of every logged request: no prompt, answer or caller.
SERVE_SUMMARY_COLUMNS = (
    "name",
    "version",
    "alias",
    "at",
    "status",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "text_form",
    "flags_json",
    "pii_json",
)


def serve_log_rows(store: Store) -> Iterator[Any]:
    """Every logged request's numbers and flags, streamed (a month's log is long)."""
    t = serve_requests_table
    query = select(*(t.c[name] for name in SERVE_SUMMARY_COLUMNS))
    with store.engine.connect() as conn:
        result = conn.execution_options(yield_per=2000).execute(query).mappings()
        yield from result


def serve_feedback_counts(store: Store) -> list[dict[str, Any]]:
    """Feedback counted per version and alias of the request it rates, thumbs and task."""
    r, f = serve_requests_table, serve_feedback_table
    query = (
        select(r.c.name, r.c.version, r.c.alias, f.c.thumbs, f.c.task_completed, func.count())
        .select_from(f.join(r, f.c.request_id == r.c.id))
        .group_by(r.c.name, r.c.version, r.c.alias, f.c.thumbs, f.c.task_completed)
    )
    with store.engine.connect() as conn:
        return [
            {
                "name": name,
                "version": version,
                "alias": alias,
                "thumbs": thumbs,
                "task_completed": done,
                "n": int(n),
            }
            for name, version, alias, thumbs, done, n in conn.execute(query)
        ]


def serve_requests_page(store: Store, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of logged requests, newest first, each with its feedback if any."""
    r, f = serve_requests_table, serve_feedback_table
    query = (
        select(r, f.c.thumbs, f.c.task_completed, f.c.at.label("feedback_at"))
        .select_from(r.outerjoin(f, f.c.request_id == r.c.id))
        .order_by(r.c.at.desc(), r.c.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    with store.engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
        total = int(conn.execute(select(func.count()).select_from(r)).scalar_one())
    return rows, total


# -- the monitor's looks at live traffic ----------------------------------------------


def monitor_names(store: Store) -> list[tuple[str, int]]:
    """Each monitored model name with its number of looks, by name."""
    t = monitor_reports_table
    query = select(t.c.name, func.count()).group_by(t.c.name).order_by(t.c.name)
    with store.engine.connect() as conn:
        return [(str(name), int(n)) for name, n in conn.execute(query)]


def monitor_page(
    store: Store, name: str | None, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of looks (of one model name when given), by name, newest first,
    and how many there are."""
    t = monitor_reports_table
    where = [t.c.name == name] if name is not None else []
    query = (
        select(t)
        .where(*where)
        .order_by(t.c.name, t.c.at.desc(), t.c.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        total = int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one())
    return rows, total


def monitor_look(store: Store, report_id: str) -> dict[str, Any] | None:
    t = monitor_reports_table
    with store.engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.id == report_id)).mappings().first()
    return None if row is None else dict(row)


def statement_records(store: Store, ids: Iterable[str]) -> dict[str, tuple[int, int]]:
    """For each signed statement id, the audit record that keeps it: its seq and
    how many records are newer (the audit page lists the newest first)."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    t = audit_table
    found: dict[str, int] = {}
    with store.engine.connect() as conn:
        for sid in wanted:
            query = select(t.c.seq, t.c.artifacts_json).where(
                t.c.artifacts_json.contains(sid, autoescape=True)
            )
            for seq, text in conn.execute(query.order_by(t.c.seq)):
                artifacts = _json(text)
                if isinstance(artifacts, dict) and artifacts.get("statement") == sid:
                    found[sid] = int(seq)
                    break
        return {
            sid: (
                seq,
                int(
                    conn.execute(
                        select(func.count()).select_from(t).where(t.c.seq > seq)
                    ).scalar_one()
                ),
            )
            for sid, seq in found.items()
        }
