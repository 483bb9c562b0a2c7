"""Privacy next to utility: per candidate, the task metric of its evaluation run,
its DP epsilon, and the latest exposure, membership-inference AUC and extraction
leak rate of the same model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from finegate.harness.core import InputError, MetricValue
from finegate.harness.privacy._runs import HEADLINES, PRIVACY_KINDS, latest_privacy_runs
from finegate.harness.store import Store
from finegate.harness.system import recorded_training


def _metric(store: Store, run_id: str, suite: str, name: str) -> MetricValue | None:
    return next((m for m in store.metrics(run_id).get(suite, []) if m.name == name), None)


def _epsilon(run: dict[str, Any]) -> float | None:
    """The epsilon the run's recorded training manifest states."""
    manifest = recorded_training(run).manifest or {}
    eps = (manifest.get("dp") or {}).get("epsilon")
    return float(eps) if eps is not None else None


@dataclass(frozen=True)
class TradeoffRow:
    run_id: str
    name: str
    fingerprint: str
    epsilon: float | None
    utility: MetricValue | None
    privacy: dict[str, MetricValue | None] = field(default_factory=dict)
    privacy_runs: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "name": self.name,
            "fingerprint": self.fingerprint,
            "epsilon": self.epsilon,
            "utility": self.utility.to_dict() if self.utility else None,
            "privacy": {k: v.to_dict() if v else None for k, v in self.privacy.items()},
            "privacy_runs": self.privacy_runs,
        }


def tradeoff(store: Store, run_refs: Sequence[str], metric: str) -> list[TradeoffRow]:
    """``metric`` is ``suite:metric`` (``task/support_triage:category``) of the
    evaluation runs named; privacy numbers come from the newest privacy runs of
    the same system fingerprint."""
    if ":" not in metric:
        raise InputError(f"--metric {metric!r}: give it as SUITE:METRIC")
    suite, name = metric.rsplit(":", 1)
    rows = []
    for ref in run_refs:
        run = store.get_run(ref)
        found = latest_privacy_runs(store, run["fingerprint"])
        privacy = {
            kind: _metric(store, r["id"], *HEADLINES[kind]) if (r := found.get(kind)) else None
            for kind in PRIVACY_KINDS
        }
        rows.append(
            TradeoffRow(
                run["id"],
                run["label"] or run["system_name"],
                run["fingerprint"],
                _epsilon(run),
                _metric(store, run["id"], suite, name),
                privacy,
                {k: r["id"] for k, r in found.items()},
            )
        )
    return rows


def fmt_metric(m: MetricValue | None, digits: int = 3) -> str:
    if m is None or m.value is None or math.isnan(m.value):
        return "not measured"
    return f"{m.value:.{digits}f} [{m.ci_low:.{digits}f}, {m.ci_high:.{digits}f}] n={m.n}"
