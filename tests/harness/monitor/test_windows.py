"""Live traffic read back from the request log: windows by count and by time,
scored as runs of kind production, the A/B per caller, and the digests that
make a verdict on them checkable."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import update

from finegate.harness.core import InputError
from finegate.harness.monitor import (
    LookOptions,
    ab_compare,
    gather,
    read_requests,
    requests_digest,
    reread,
    score_window,
)
from finegate.harness.stats import compare_proportions
from finegate.harness.store import Store, serve_requests_table
from tests.harness.monitor.traffic import log_requests


def _mixed_traffic(store: Store, n: int = 120) -> None:
    """24 callers, every third in the canary (version 2); canary callers rate
    answers down, production callers up, except caller-k for k % 4 == 0."""
    rows = []
    for i in range(n):
        caller = i % 24
        canary = caller % 3 == 0
        rows.append(
            {
                "caller": f"caller-{caller}",
                "alias": "canary" if canary else "production",
                "version": 2 if canary else 1,
                "thumbs": "down" if canary or caller % 4 == 0 else "up",
                "answer": "not json" if canary else '{"category": "billing"}',
                "refusal": canary and i % 2 == 0,
                "latency_ms": 300.0 + i if canary else 100.0 + i,
            }
        )
    log_requests(store, rows)


def test_windows_by_count_and_by_time(tmp_path):
    store = Store(tmp_path / "fg.db")
    _mixed_traffic(store)
    canary = read_requests(store, "triage", alias="canary")
    assert len(canary) == 40 and {q.version for q in canary} == {2}
    newest = read_requests(store, "triage", alias="production", last=10)
    production_ids = [f"req-{i:05d}" for i in range(120) if (i % 24) % 3]
    assert [q.id for q in newest] == production_ids[-10:]
    timed = read_requests(store, "triage", since="2026-12-07T09:01:00+00:00")
    assert len(timed) == 60 and timed[0].id == "req-00060"  # one request a second from 09:00
    with pytest.raises(InputError, match="at least 1 request"):
        read_requests(store, "triage", last=0)


def test_a_window_is_a_production_run_scored_without_references(tmp_path):
    store = Store(tmp_path / "fg.db")
    _mixed_traffic(store)
    rows = read_requests(store, "triage", alias="canary")
    run_id, values = score_window(
        store, rows, name="triage", system={"name": "t", "fingerprint": "f"}
    )
    run = store.get_run(run_id)
    assert run["kind"] == "production" and [
        r["id"] for r in store.list_runs(kind="production")
    ] == [run_id]
    metrics = {m.name: m for ms in store.metrics(run_id).values() for m in ms}
    assert metrics["log.refusal"].value == pytest.approx(20 / 40) and metrics["log.refusal"].n == 40
    assert metrics["latency.p95"].value == pytest.approx(
        float(np.quantile([0.3 + i / 1000 for i in range(120) if (i % 24) % 3 == 0], 0.95)),
        abs=2e-3,
    )
    measured = {m.name: m.value for m in values if m.n}  # NaN (no value) where n = 0
    assert measured == {m.name: m.value for m in metrics.values() if m.n}
    assert {m.name for m in values if not m.n} == {"log.invalid_json", "log.cost"}
    # the same requests scored again are found, not stored twice; and a stored
    # number edited since is not what the next look decides on
    with store.transaction() as conn:
        conn.exec_driver_sql("UPDATE metrics SET value = 0 WHERE name = 'log.refusal'")
    system = {"name": "t", "fingerprint": "f"}
    again, fresh = score_window(store, rows, name="triage", system=system)
    assert again == run_id
    assert {m.name: m.value for m in fresh}["log.refusal"] == pytest.approx(0.5)


def test_the_ab_counts_callers_not_requests(tmp_path):
    store = Store(tmp_path / "fg.db")
    _mixed_traffic(store, n=240)
    canary = read_requests(store, "triage", alias="canary")
    production = read_requests(store, "triage", alias="production")
    ab = ab_compare(canary, production, margins={"thumbs_up": 0.02})
    thumbs = ab["metrics"]["thumbs_up"]
    assert ab["callers"] == {"canary": 8, "production": 16}
    # per caller: canary callers all 0; production callers 1 except those with k % 4 == 0
    per_caller_production = [0.0 if k % 4 == 0 else 1.0 for k in range(24) if k % 3]
    expected = compare_proportions([0.0] * 8, per_caller_production, margin=0.02)
    assert thumbs["n_canary"] == 8 and thumbs["estimate"] == pytest.approx(expected.estimate)
    assert thumbs["decision"] == expected.decision
    assert thumbs["units"] == "callers"


def test_a_row_changed_after_a_look_changes_its_digest(tmp_path):
    store = Store(tmp_path / "fg.db")
    _mixed_traffic(store)
    options = LookOptions(last=20, drift_splits=0)
    rows = gather(store, "triage", options, until="2026-12-07T10:00:00+00:00")
    assert set(rows) == {"window:production", "window:canary", "ab:canary", "ab:production"}
    report = {
        "name": "triage",
        "window": {"until": "2026-12-07T10:00:00+00:00"},
        "arms": {
            a: {
                "version": rows[f"window:{a}"][0].version,
                "request_ids": [q.id for q in rows[f"window:{a}"]],
            }
            for a in ("production", "canary")
        },
        "ab": {"since": rows["ab:canary"][0].at},
    }
    again = reread(store, report)
    assert {k: requests_digest(v) for k, v in again.items()} == {
        k: requests_digest(v) for k, v in rows.items()
    }
    victim = rows["ab:canary"][3].id
    with store.transaction() as conn:
        conn.execute(
            update(serve_requests_table)
            .where(serve_requests_table.c.id == victim)
            .values(flags_json=json.dumps({"refusal": False}))
        )
    changed = reread(store, report)
    assert requests_digest(changed["ab:canary"]) != requests_digest(rows["ab:canary"])


SUITE = """\
id: test/triage
version: 1
kind: task
source: {path: cases.jsonl}
scorers:
  - {name: json_valid}
  - {name: exact_match}
  - {name: latency}
"""


def test_a_window_compares_unpaired_with_the_evaluation_run(tmp_path):
    from finegate.harness import CallableSystem, RunOptions, load_suite, run_suites
    from finegate.harness.compare import compare_runs
    from finegate.harness.stats import unpaired_bootstrap

    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "suite.yaml").write_text(SUITE)
    cases = [{"id": f"c{i}", "input": f"ticket {i}", "references": ["{}"]} for i in range(30)]
    (tmp_path / "suite" / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    suite = load_suite(tmp_path / "suite")
    store = Store(tmp_path / "fg.db")
    system = CallableSystem(lambda prompt: '{"category": "billing"}', name="rules", version="1")
    evaluated = run_suites(system, [suite], store, RunOptions(progress=False)).run_id
    _mixed_traffic(store)
    window = read_requests(store, "triage", alias="canary")  # answers "not json"
    run_id, _ = score_window(
        store, window, name="triage", system={"name": "t", "fingerprint": "f"}, suite=suite
    )
    info = store.get_run(run_id)["suites"][0]
    assert info["id"] == "production/test/triage" and info["of"]["hash"] == suite.hash
    assert [s["name"] for s in info["scorers"]] == [
        "json_valid",
        "latency",
        "answer_tokens",
        "length",
    ]
    comparison = compare_runs(store, evaluated, run_id)
    deltas = {d.name: d for d in comparison.deltas}
    assert "exact_match" not in deltas  # it needs a reference answer
    valid = deltas["json_valid"]
    assert valid.test == "unpaired-bootstrap" and valid.delta == pytest.approx(-1.0)
    assert comparison.unpaired == {"production/test/triage": 70} and comparison.flipped == []
    a = np.array([r["output"]["latency_s"] for r in store.records(evaluated)])
    b = np.array([q.latency_s for q in window])
    expected = unpaired_bootstrap(a, b, 0.95, 2000, 0, lambda x: np.percentile(x, 95.0, axis=-1))
    assert deltas["latency.p95"].ci_low == pytest.approx(expected[1])


def test_the_ab_reads_only_the_canary_versions_current_stint(tmp_path):
    """triage:2 at the canary, rolled back (the canary answers with triage:1),
    then placed again: the A/B starts from its second placement."""
    store = Store(tmp_path / "fg.db")
    stints = [(2, range(0, 30)), (1, range(30, 40)), (2, range(40, 70))]
    rows = [
        {"id": f"req-{i:05d}", "caller": f"c{i % 12}", "alias": "canary", "version": v, "second": i}
        for v, seconds in stints
        for i in seconds
    ]
    rows += [{"id": f"prod-{i:05d}", "caller": f"p{i % 12}", "second": i} for i in range(70)]
    log_requests(store, rows)
    found = gather(store, "triage", LookOptions(last=10), until="2026-12-07T10:00:00+00:00")
    assert [q.id for q in found["ab:canary"]] == [f"req-{i:05d}" for i in range(40, 70)]
    assert [q.id for q in found["ab:production"]] == [f"prod-{i:05d}" for i in range(40, 70)]
