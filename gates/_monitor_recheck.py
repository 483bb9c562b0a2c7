"""Re-checking a signed monitor verdict from the request log.

A monitor verdict signed by the monitor's key says "these gates gave these
results on this traffic". Before a rollback or a promotion counts it, it is
recomputed: the requests the look read are read again (by their ids and by the
same A/B queries) and must have the digests the statement signed; the look is
measured again on them with the options it recorded; the policy the release
rules pin decides again; every gate and the status must agree. So neither a
row edited in the request log after the fact, nor a verdict forged by an
honest key, nor a report row rewritten in the store (its request ids, its
options) moves an alias.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from finegate.harness.core import FinegateError, InputError, sha256_json
from finegate.harness.store import Store


def look_digest(report: Mapping[str, Any]) -> str:
    """What a look's result depends on besides the requests: the signed
    statement carries it, so a stored report cannot be rewritten unnoticed."""
    return sha256_json(
        {
            "name": report["name"],
            "until": report["window"]["until"],
            "options": report.get("options"),
            "suite": report.get("suite"),
            "request_ids": {a: arm.get("request_ids") for a, arm in report["arms"].items()},
            "ab_since": (report.get("ab") or {}).get("since"),
        }
    )


def recheck_monitor_for(store: Store, embedder: Any = None) -> Callable[[Any, Any], list[str]]:
    """The ``monitor_recheck`` promotion and rollback call: a monitor verdict
    statement against the request log."""

    def recheck(verdict: Any, pin: Any) -> list[str]:
        return recheck_monitor_verdict(
            store, verdict.predicate, verdict.digests, pin.content, pin.hash, embedder=embedder
        )

    return recheck


def _stored_report(store: Store, report_id: str) -> dict[str, Any] | None:
    import json

    from sqlalchemy import select

    from finegate.harness.store import monitor_reports_table as t

    with store.engine.connect() as conn:
        text = conn.execute(select(t.c.report_json).where(t.c.id == report_id)).scalar()
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def recheck_monitor_verdict(
    store: Store,
    predicate: Mapping[str, Any],
    digests: Mapping[str, str],
    policy_content: Mapping[str, Any],
    policy_hash: str,
    *,
    embedder: Any = None,
) -> list[str]:
    """What is wrong with a signed monitor verdict, recomputed (nothing: [])."""
    from finegate.gates._monitor import decide_monitor, monitor_margins
    from finegate.gates._policy import Policy
    from finegate.harness.monitor import LookOptions, measure, requests_digest, reread

    policy = Policy.model_validate(dict(policy_content))
    if policy.hash() != policy_hash or predicate["policy"]["hash"] != policy_hash:
        return [f"the monitor verdict is not of the policy {policy.id} v{policy.version}"]
    report = _stored_report(store, str(predicate.get("report")))
    if report is None:
        return [f"the look {predicate.get('report')} the verdict names is not in the store"]
    problems: list[str] = []
    signed = dict(predicate.get("requests_sha256") or {})
    if signed.pop("look", None) != look_digest(report):
        problems.append(f"the stored look {report['id']} is not the one the verdict signed")
    canary = report["arms"].get("canary", {})
    if canary.get("fingerprint") != digests.get("fingerprint"):
        problems.append("the verdict's subject is not the canary the look watched")
    if canary.get("version") != predicate.get("canary_version"):
        problems.append("the verdict names another canary version than the look")
    rows = reread(store, report)
    for key in sorted(set(signed) | set(rows)):
        now = requests_digest(rows.get(key, []))
        if signed.get(key) != now:
            problems.append(f"the requests the verdict read ({key}) changed since it was signed")
    if problems:
        return problems
    options = LookOptions.from_dict(report.get("options") or {})
    if dict(options.margins) != monitor_margins(policy):
        return ["the look used other A/B margins than the policy's gates"]
    suite = None
    if report.get("suite"):
        from finegate.harness.suite import load_suite

        try:
            suite = load_suite(report["suite"]["path"])
        except (FinegateError, OSError) as e:
            return [f"the suite the look used cannot be loaded: {e}"]
        if suite.hash != report["suite"]["hash"]:
            return [f"suite {suite.id} changed since the look (hash {suite.hash[:12]})"]
    try:
        recomputed = measure(
            store,
            report["name"],
            rows,
            until=report["window"]["until"],
            suite=suite,
            options=options,
            embedder=embedder,
        )
    except InputError as e:
        return [f"the look cannot be measured again: {e}"]
    status, gates = decide_monitor(policy, recomputed)
    claimed = predicate.get("gates", {})
    for gate in gates:
        said = claimed.get(gate["gate_id"], {}).get("status")
        if said != gate["status"]:
            problems.append(
                f"monitor gate {gate['gate_id']}: the signed verdict says {said}, the traffic "
                f"says {gate['status']}"
            )
    if predicate.get("status") != status:
        problems.append(f"the signed verdict says {predicate.get('status')}, the traffic {status}")
    return problems
