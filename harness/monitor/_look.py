"""One look at live traffic: what the monitor gates decide on.

A look reads the request log of one model name: per alias (production, and
the canary when one is served) the version that answered most recently, and
its window (the newest N requests, or those of the last S seconds). Each
window is scored and stored as a run of kind ``production``. Drift is tested
twice: the window's prompts against the suite's cases (is the traffic still
what we evaluated on?) and the canary's answers against a reference window's
(production's answers, or a stored run's). The A/B reads everything since the
canary was placed. The result is a plain JSON report; the gates and the
actions are decided above this package, and ``save_report`` keeps it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from finegate.harness.core import InputError, sha256_json
from finegate.harness.monitor._ab import ab_compare
from finegate.harness.monitor._calibration import Calibration, calibrate
from finegate.harness.monitor._embed import TextEncoder
from finegate.harness.monitor._log import (
    LoggedRequest,
    read_requests,
    requests_by_id,
    requests_digest,
)
from finegate.harness.monitor._report import check_drift
from finegate.harness.monitor._windows import score_window
from finegate.harness.store import Store, now_iso, to_json

ALIASES = ("production", "canary")


@dataclass(frozen=True)
class LookOptions:
    """What a look reads and how it tests. ``last`` or ``seconds`` sets the window."""

    last: int | None = 200
    seconds: float | None = None
    alpha: float = 0.05
    margins: Mapping[str, float] = field(default_factory=dict)
    drift_splits: int = 200
    category_label: str | None = None
    reference_run: str | None = None
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "last": self.last,
            "seconds": self.seconds,
            "alpha": self.alpha,
            "margins": dict(self.margins),
            "drift_splits": self.drift_splits,
            "category_label": self.category_label,
            "reference_run": self.reference_run,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LookOptions:
        return cls(**{k: data[k] for k in cls().to_dict() if k in data})

    def window(self) -> dict[str, Any]:
        if (self.last is None) == (self.seconds is None):
            raise InputError("a window is set by count (last) or by time (seconds), not both")
        if self.seconds is not None:
            return {"by": "time", "size": self.seconds}
        return {"by": "count", "size": self.last}


_CALIBRATIONS: dict[str, Calibration] = {}  # per process: a reference is calibrated once


def _arm_version(store: Store, name: str, alias: str) -> int | None:
    newest = read_requests(store, name, alias=alias, last=1)
    return newest[0].version if newest else None


def _window_rows(
    store: Store, name: str, alias: str, version: int, options: LookOptions, until: str
) -> list[LoggedRequest]:
    since = None
    if options.seconds is not None:
        start = datetime.fromisoformat(until) - timedelta(seconds=options.seconds)
        since = start.isoformat()
    return read_requests(
        store, name, alias=alias, version=version, since=since, until=until, last=options.last
    )


def _system_of(store: Store, name: str, version: int, fingerprint: str | None) -> dict[str, Any]:
    """The description of the system a version's evaluation run recorded."""
    from finegate.harness.registry import open_registry

    try:
        lineage = open_registry(store).get(f"{name}:{version}").lineage
        system = store.get_run(lineage["evaluation_runs"][0])["system"]
    except (InputError, KeyError, IndexError):
        system = {}
    if not system or (fingerprint and system.get("fingerprint") != fingerprint):
        return {"name": f"{name}:{version}", "fingerprint": fingerprint or "unknown"}
    return system


def _drift(
    reference: Sequence[str],
    window: Sequence[str],
    ids: Sequence[str],
    *,
    labels: Sequence[str] | None,
    embedder: TextEncoder | None,
    options: LookOptions,
) -> dict[str, Any] | None:
    if not reference or not window:
        return None
    try:
        key = sha256_json([list(reference), labels, len(window), options.drift_splits])
        calibration = None
        if options.drift_splits:
            calibration = _CALIBRATIONS.get(key)
            if calibration is None:
                calibration = calibrate(
                    reference,
                    len(window),
                    reference_labels=labels,
                    embedder=embedder,
                    splits=options.drift_splits,
                    seed=options.seed,
                )
                _CALIBRATIONS[key] = calibration
        report = check_drift(
            reference,
            window,
            reference_labels=labels,
            embedder=embedder,
            alpha=options.alpha,
            calibration=calibration,
            calibration_splits=0,
            seed=options.seed,
        )
    except InputError as e:
        return {"error": str(e)}
    out = report.to_dict()
    for example in out["drifted"]:
        example["request_id"] = ids[example["index"]]
    return out


def _suite_reference(suite: Any, label: str | None) -> tuple[list[str], list[str] | None]:
    cases = list(suite.cases)
    prompts = [
        suite.render_prompt(c) if c.input is not None else c.messages[-1].content for c in cases
    ]
    if label is None:
        common = set.intersection(*(set(c.labels) for c in cases)) if cases else set()
        label = sorted(common)[0] if common else None
    labels = [c.labels[label] for c in cases] if label else None
    return prompts, labels


def _stint_start(store: Store, name: str, version: int, until: str) -> str | None:
    """When ``version``'s current stint at the canary began: the first request it
    answered there after the canary last answered with another version. An A/B
    reads that stint only: a version rolled back and placed again starts afresh."""
    from sqlalchemy import func, select

    from finegate.harness.store import serve_requests_table as r

    where = (r.c.name == name, r.c.alias == "canary", r.c.at < until, r.c.status == 200)
    with store.engine.connect() as conn:
        other = conn.execute(
            select(func.max(r.c.at)).where(*where, r.c.version != version)
        ).scalar()
        query = select(func.min(r.c.at)).where(*where, r.c.version == version)
        if other is not None:
            query = query.where(r.c.at > other)
        return conn.execute(query).scalar()


def gather(
    store: Store, name: str, options: LookOptions, until: str
) -> dict[str, list[LoggedRequest]]:
    """The requests a look reads: ``window:ALIAS`` per alias served (the version
    that answered last there), and for the A/B ``ab:canary`` (everything since the
    canary version's first answer) and ``ab:production`` (production since then)."""
    options.window()
    rows: dict[str, list[LoggedRequest]] = {}
    versions: dict[str, int] = {}
    for alias in ALIASES:
        version = _arm_version(store, name, alias)
        if version is None:
            continue
        found = _window_rows(store, name, alias, version, options, until)
        if found:
            rows[f"window:{alias}"], versions[alias] = found, version
    if not rows:
        raise InputError(
            f"the request log of {store.location} holds no answered request of {name!r}"
        )
    if "canary" in versions:
        since = _stint_start(store, name, versions["canary"], until)
        canary = read_requests(
            store, name, alias="canary", version=versions["canary"], since=since, until=until
        )
        rows["ab:canary"] = canary
        rows["ab:production"] = (
            read_requests(
                store,
                name,
                alias="production",
                version=versions["production"],
                since=canary[0].at,
                until=until,
            )
            if "production" in versions
            else []
        )
    return rows


def measure(
    store: Store,
    name: str,
    rows: Mapping[str, Sequence[LoggedRequest]],
    *,
    until: str,
    suite: Any | None = None,
    options: LookOptions = LookOptions(),
    embedder: TextEncoder | None = None,
) -> dict[str, Any]:
    """Score the windows (stored as runs), test drift, and compare canary with
    production, on the requests ``gather`` read."""
    window = options.window()
    arms: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    for alias in ALIASES:
        found = list(rows.get(f"window:{alias}", []))
        if not found:
            continue
        version, fingerprint = found[-1].version, found[-1].fingerprint
        run_id, values = score_window(
            store,
            found,
            name=name,
            system=_system_of(store, name, int(version or 0), fingerprint),
            suite=suite,
            label=f"{name}@{alias} window",
            window={**window, "alias": alias, "until": until},
            seed=options.seed,
        )
        arms[alias] = {
            "version": version,
            "fingerprint": fingerprint,
            "run": run_id,
            "n": len(found),
            "requests_sha256": requests_digest(found),
            "request_ids": [q.id for q in found],
        }
        metrics[alias] = {
            m.name: {"value": m.value, "n": m.n, "ci_low": m.ci_low, "ci_high": m.ci_high}
            for m in values
        }
    drift: dict[str, Any] = {"inputs_vs_suite": None, "outputs_vs_reference": None}
    live = [q for alias in ALIASES for q in rows.get(f"window:{alias}", [])]
    if suite is not None and live:
        reference, labels = _suite_reference(suite, options.category_label)
        drift["inputs_vs_suite"] = _drift(
            reference, [q.prompt for q in live], [q.id for q in live],
            labels=labels, embedder=embedder, options=options,
        )  # fmt: skip
    canary, production = rows.get("window:canary"), rows.get("window:production")
    target = canary or (production if options.reference_run else None)
    if target and (options.reference_run or production):
        if options.reference_run:
            reference = [r["output"]["text"] for r in store.records(options.reference_run)]
        else:
            reference = [q.answer for q in production or []]
        drift["outputs_vs_reference"] = _drift(
            reference, [q.answer for q in target], [q.id for q in target],
            labels=None, embedder=embedder, options=options,
        )  # fmt: skip
    ab = None
    if "ab:canary" in rows:
        ab_rows = rows["ab:canary"], rows["ab:production"]
        ab = {
            "since": ab_rows[0][0].at if ab_rows[0] else None,
            **ab_compare(*ab_rows, alpha=options.alpha, margins=options.margins),
        }
    return {
        "name": name,
        "arms": arms,
        "window": {**window, "until": until},
        "metrics": metrics,
        "drift": drift,
        "ab": ab,
        "requests_sha256": {key: requests_digest(found) for key, found in sorted(rows.items())},
        "options": options.to_dict(),
        "suite": None
        if suite is None
        else {"id": suite.id, "hash": suite.hash, "path": str(suite.path)},
    }


def look(
    store: Store,
    name: str,
    *,
    suite: Any | None = None,
    options: LookOptions = LookOptions(),
    embedder: TextEncoder | None = None,
) -> dict[str, Any]:
    """One look now: ``gather`` then ``measure``, under a new report id."""
    until = now_iso()
    rows = gather(store, name, options, until)
    report = measure(
        store, name, rows, until=until, suite=suite, options=options, embedder=embedder
    )
    stamp = until[:19].replace(":", "").replace("-", "")
    return {"id": f"mon-{stamp}-{secrets.token_hex(3)}", "at": until, **report}


def save_report(store: Store, report: dict[str, Any], *, statement: str | None = None) -> None:
    """Keep one look (with its gates and action, when decided) in ``monitor_reports``."""
    from finegate.harness.store import monitor_reports_table

    arms = report.get("arms", {})
    with store.transaction() as conn:
        conn.execute(
            monitor_reports_table.insert().values(
                id=report["id"],
                at=report["at"],
                name=report["name"],
                canary_version=arms.get("canary", {}).get("version"),
                production_version=arms.get("production", {}).get("version"),
                status=report.get("status", "undecided"),
                report_json=to_json(report),
                statement=statement,
            )
        )


def update_report(store: Store, report: dict[str, Any], *, statement: str | None = None) -> None:
    """Record what was done after a look was kept (its action, its signed verdict):
    a re-check of the verdict reads the look, so it is kept before anyone acts."""
    from sqlalchemy import update

    from finegate.harness.store import monitor_reports_table as t

    with store.transaction() as conn:
        conn.execute(
            update(t)
            .where(t.c.id == report["id"])
            .values(report_json=to_json(report), statement=statement)
        )


def stored_reports(store: Store, name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest looks, newest first (their JSON as stored)."""
    import json

    from sqlalchemy import select

    from finegate.harness.store import monitor_reports_table as t

    query = select(t.c.id, t.c.report_json).order_by(t.c.at.desc()).limit(limit)
    if name is not None:
        query = query.where(t.c.name == name)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    out = []
    for report_id, text in rows:
        try:
            out.append(json.loads(text))
        except ValueError:
            raise InputError(
                f"monitor report {report_id} in {store.location} is not JSON"
            ) from None
    return out


def reread(store: Store, report: Mapping[str, Any]) -> dict[str, list[LoggedRequest]]:
    """The requests a look read, read again: the windows by their ids, the A/B
    by the same queries. A row changed, added or purged since changes their
    digests, which a re-check of a verdict made on them compares."""
    name, until = report["name"], report["window"]["until"]
    ids = [i for arm in report["arms"].values() for i in arm.get("request_ids", [])]
    by_id = requests_by_id(store, ids)
    out = {
        f"window:{alias}": [by_id[i] for i in arm["request_ids"] if i in by_id]
        for alias, arm in report["arms"].items()
    }
    ab = report.get("ab")
    if ab:
        arms = report["arms"]
        out["ab:canary"] = read_requests(
            store,
            name,
            alias="canary",
            version=arms["canary"]["version"],
            since=ab.get("since"),
            until=until,
        )
        out["ab:production"] = (
            read_requests(
                store,
                name,
                alias="production",
                version=arms["production"]["version"],
                since=ab["since"],
                until=until,
            )
            if "production" in arms and ab.get("since")
            else []
        )
    return out
