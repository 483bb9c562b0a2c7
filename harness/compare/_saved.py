"""A comparison stored as a run (kind ``comparison``): per metric the paired delta
and the relative change with their intervals, per case the paired differences,
so a regression suite's relative drops are evidence gates and reports read like
any other number. Identical comparisons are stored once."""

from __future__ import annotations

import math
from typing import Any

from finegate.harness.compare._comparison import Comparison, MetricDelta
from finegate.harness.core import MetricValue, sha256_json
from finegate.harness.store import Store


def save_comparison(store: Store, comparison: Comparison) -> str:
    """Store a comparison as a run (kind ``comparison``): per metric the paired
    delta and the relative change with their intervals, per case the paired
    differences. A regression suite's relative drops are then evidence in the
    store like any other number, and identical comparisons are stored once."""
    a, b = comparison.run_a, comparison.run_b
    system = {
        "type": "comparison",
        "name": f"{b['system_name']} vs {a['system_name']}",
        "fingerprint": sha256_json({"baseline": a["fingerprint"], "candidate": b["fingerprint"]}),
        "baseline_run": a["id"],
        "candidate_run": b["id"],
        "baseline_fingerprint": a["fingerprint"],
        "candidate_fingerprint": b["fingerprint"],
    }
    run_key = sha256_json({"comparison": [a["id"], b["id"]]})
    existing = store.find_complete(run_key)
    if existing is not None:
        return existing
    suites = [s for s in a["suites"] if s["id"] in comparison.suites]
    by_suite = {s["id"]: [d for d in comparison.deltas if d.suite_id == s["id"]] for s in suites}
    records = [
        r
        for info in suites
        for r in _difference_records(store, a["id"], b["id"], info, by_suite[info["id"]])
    ]
    run_id = store.create_run(
        run_key=run_key,
        label=f"{b['label'] or b['id']} vs {a['label'] or a['id']}",
        kind="comparison",
        system=system,
        suites=suites,
        environment={},
        options={},
    )
    store.add_records(run_id, records)
    for info in suites:
        store.save_metrics(run_id, info["id"], info["hash"], _delta_metrics(by_suite[info["id"]]))
    store.finish_run(run_id, status="complete", timings={})
    return run_id


def _delta_metrics(deltas: list[MetricDelta]) -> list[MetricValue]:
    out = []
    for d in deltas:
        out.append(
            MetricValue(
                f"{d.name}.delta", d.delta, d.n_paired, d.ci_low, d.ci_high, d.level, d.test
            )
        )
        if d.relative is not None:
            lo = math.nan if d.relative_ci_low is None else d.relative_ci_low
            hi = math.nan if d.relative_ci_high is None else d.relative_ci_high
            out.append(
                MetricValue(
                    f"{d.name}.relative_change",
                    d.relative,
                    d.n_paired,
                    lo,
                    hi,
                    d.level,
                    "paired-bootstrap-ratio",
                )
            )
    return out


def _difference_records(
    store: Store, run_a: str, run_b: str, info: dict[str, Any], deltas: list[MetricDelta]
) -> list[dict[str, Any]]:
    names = {d.name for d in deltas}
    recs_a = {r["case_id"]: r for r in store.records(run_a, info["id"])}
    out = []
    for rb in store.records(run_b, info["id"]):
        ra = recs_a.get(rb["case_id"])
        if ra is None:
            continue
        scores = {}
        for name in names:
            x, y = ra["scores"].get(name), rb["scores"].get(name)
            if x is not None and y is not None:
                scores[f"{name}.delta"] = y - x
        out.append(
            {
                "suite_id": info["id"],
                "suite_hash": info["hash"],
                "case_id": rb["case_id"],
                "position": rb["position"],
                "request": {"baseline_run": run_a, "candidate_run": run_b},
                "output": {
                    "baseline": ra["output"].get("text", ""),
                    "candidate": rb["output"].get("text", ""),
                },
                "scores": scores,
                "facts": {},
            }
        )
    return out
