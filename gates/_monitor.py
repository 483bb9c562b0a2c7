"""Monitor gates: a policy's ``monitor:`` section decided on one look at live
traffic (``finegate.harness.monitor.look``).

Each gate gives ``pass``, ``fail``, ``undecided`` (not enough traffic yet: keep
looking) or ``error`` (what it reads could not be computed). The look's status:
``fail`` when a blocking gate failed, ``pass`` when every blocking gate passed,
``error`` when a blocking gate erred and none failed, else ``undecided``.
Warning gates are reported and never decide. A/B gates read anytime-valid
bounds, so a decision taken at the first look that shows one keeps its error
rate at alpha however often the monitor looks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from finegate.gates._policy import ABGate, DriftGate, Policy, WindowGate

MonitorStatus = str  # pass | fail | undecided | error


@dataclass(frozen=True)
class MonitorGateResult:
    gate_id: str
    kind: str
    severity: str
    status: MonitorStatus
    detail: str
    observed: float | None = None
    threshold: float | None = None
    lower: float | None = None
    upper: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ab(gate: ABGate, report: Mapping[str, Any]) -> MonitorGateResult:
    def result(status: str, detail: str, r: Mapping[str, Any] | None = None) -> MonitorGateResult:
        r = r or {}
        return MonitorGateResult(
            gate.id, "ab", gate.severity, status, detail, r.get("estimate"), gate.margin,
            r.get("lower"), r.get("upper"),
        )  # fmt: skip

    ab = report.get("ab")
    if not ab:
        return result("undecided", "no canary is served: nothing to compare")
    r = ab["metrics"].get(gate.metric)
    if r is None or "error" in r:
        why = r["error"] if r else f"{gate.metric} was not compared"
        return result("undecided", why)
    if float(r.get("margin", 0.0)) != gate.margin:
        return result("error", f"the A/B was computed with margin {r.get('margin')}")
    bounds = f"[{_fmt(r.get('lower'))}, {_fmt(r.get('upper'))}]"
    said = (
        f"canary - production {gate.metric} = {r['estimate']:+.4f}, confidence sequence "
        f"{bounds} over {r['n_canary']} and {r['n_production']} {r.get('units', 'callers')}"
    )
    if r["decision"] == "worse":
        return result("fail", f"{said}: worse by more than the margin {gate.margin}", r)
    shown = r["decision"] == "better" if gate.require == "better" else r["non_inferior"]
    if shown:
        claim = "better" if gate.require == "better" else f"not worse by more than {gate.margin}"
        return result("pass", f"{said}: {claim}", r)
    return result("undecided", f"{said}: not decided yet, keep looking", r)


def _fmt(x: float | None) -> str:
    return "-inf/+inf" if x is None else f"{x:+.4f}"


def _window(gate: WindowGate, report: Mapping[str, Any]) -> MonitorGateResult:
    def result(status: str, detail: str, observed: float | None = None) -> MonitorGateResult:
        limit = gate.min if gate.min is not None else gate.max
        return MonitorGateResult(gate.id, "window", gate.severity, status, detail, observed, limit)

    metrics = report.get("metrics", {}).get(gate.arm)
    if metrics is None:
        return result("undecided", f"no {gate.arm} window in this look")
    m = metrics.get(gate.metric)
    if m is None:
        known = ", ".join(sorted(metrics)) or "none"
        return result("error", f"the {gate.arm} window has no metric {gate.metric!r} ({known})")
    if m["n"] < gate.min_n:
        return result(
            "undecided", f"{gate.metric} rests on {m['n']} requests, fewer than {gate.min_n}"
        )
    value = {"point": m["value"], "lower_bound": m["ci_low"], "upper_bound": m["ci_high"]}[
        gate.bound
    ]
    if value is None:
        return result("error", f"{gate.metric} has no {gate.bound.replace('_', ' ')}")
    ok = value >= gate.min if gate.min is not None else value <= gate.max  # type: ignore[operator]
    op = ">=" if gate.min is not None else "<="
    limit = gate.min if gate.min is not None else gate.max
    detail = (
        f"{gate.arm} {gate.metric} {gate.bound.replace('_', ' ')} {value:.4f} {op} {limit} "
        f"(value {m['value']:.4f}, n={m['n']}): {'holds' if ok else 'does not hold'}"
    )
    return result("pass" if ok else "fail", detail, value)


def _drift(gate: DriftGate, report: Mapping[str, Any]) -> MonitorGateResult:
    found = report.get("drift", {}).get(gate.check)

    def result(status: str, detail: str) -> MonitorGateResult:
        return MonitorGateResult(gate.id, "drift", gate.severity, status, detail)

    if found is None:
        return result("undecided", f"{gate.check} was not tested in this look")
    if "error" in found:
        return result("error", f"{gate.check}: {found['error']}")
    if found["alarm"]:
        tests = ", ".join(found["alarming"])
        return result("fail", f"{gate.check}: drift alarm on {tests}")
    return result("pass", f"{gate.check}: no drift alarm at alpha {found['alpha']}")


def monitor_margins(policy: Policy) -> dict[str, float]:
    """The margin each A/B metric is decided with (one per metric in a policy)."""
    margins: dict[str, float] = {}
    for gate in policy.monitor:
        if isinstance(gate, ABGate) and margins.setdefault(gate.metric, gate.margin) != gate.margin:
            raise ValueError(
                f"policy {policy.id}: two A/B gates on {gate.metric} with different margins"
            )
    return margins


def decide_monitor(policy: Policy, report: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Every monitor gate of ``policy`` on one look, and the look's status."""
    if not policy.monitor:
        raise ValueError(f"policy {policy.id} has no monitor gates (a `monitor:` section)")
    results = []
    for gate in policy.monitor:
        if isinstance(gate, ABGate):
            results.append(_ab(gate, report))
        elif isinstance(gate, WindowGate):
            results.append(_window(gate, report))
        else:
            results.append(_drift(gate, report))
    blocking = [r for r in results if r.severity == "block"]
    if any(r.status == "fail" for r in blocking):
        status = "fail"
    elif any(r.status == "error" for r in blocking):
        status = "error"
    elif all(r.status == "pass" for r in blocking):
        status = "pass"
    else:
        status = "undecided"
    return status, [r.to_dict() for r in results]
