"""The gates' part in a release: signed verdicts, and re-checking them.

A verdict signed by a CI key says "this verdict follows from these records";
``recheck`` makes that claim checkable by anyone: it finds the runs the
statement names, checks that their records still have the digests the
statement signed, evaluates the policy the release rules pin on them again (on
the verdict's own date, so waivers read as they did), and compares every gate.
A verdict whose records changed since (stale), or whose gates the records do
not support (forged, even by an honest key), is refused.

Approval gates are left to promotion, which reads signed approval statements
and applies four eyes: at gate time they are decided from the approvals signed
so far.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from finegate.harness.core import InputError
from finegate.harness.store import Store


def approvals_now(store: Store, trust_root: str | None, fingerprint: str) -> list[dict[str, Any]]:
    """Signed approvals of a model, when a trust root says whose keys count; none
    otherwise (an approval is a signature, never a name typed in)."""
    if not trust_root:
        return []
    from finegate.harness.registry import approvals_for
    from finegate.harness.registry.trust import current_rules, load_trust_root

    rules = current_rules(store, load_trust_root(trust_root))
    return approvals_for(store, rules.keyring, fingerprint) if rules else []


def sign_gate_verdict(
    store: Store,
    verdict: Any,
    signer: Any,
    *,
    data_census: dict[str, Any] | None = None,
    actor: str,
) -> str:
    """The verdict as a signed statement over the records it was computed from."""
    from finegate.harness.registry import sign_verdict

    run = store.get_run(verdict.run_id)
    baseline = store.get_run(verdict.baseline_run_id) if verdict.baseline_run_id else None
    return sign_verdict(
        store, verdict.to_dict(), run, baseline, signer, data_census=data_census, actor=actor
    )


def recheck_for(store: Store) -> Callable[[Any, Any], list[str]]:
    """The ``recheck`` promotion calls: a verdict statement against the stored runs."""

    def recheck(verdict: Any, pin: Any) -> list[str]:
        return recheck_verdict(store, verdict.predicate, verdict.digests, pin.content, pin.hash)

    return recheck


def recheck_verdict(
    store: Store,
    predicate: dict[str, Any],
    digests: dict[str, str],
    policy_content: dict[str, Any],
    policy_hash: str,
) -> list[str]:
    """What is wrong with a signed verdict, recomputed from the store (nothing: [])."""
    from finegate.gates._engine import Evidence, evaluate
    from finegate.gates._policy import Policy
    from finegate.harness.registry import records_digest
    from finegate.harness.registry.trust import model_digests

    policy = Policy.model_validate(policy_content)
    if policy.hash() != policy_hash or predicate["policy"]["hash"] != policy_hash:
        return [f"the verdict is not of the policy {policy.id} v{policy.version} it is held to"]
    problems: list[str] = []
    runs: dict[str, Any] = {}
    for side, label in (("run", "candidate"), ("baseline", "baseline")):
        info = predicate.get(side)
        if not info:
            continue
        try:
            run = store.get_run(info["id"])
        except InputError:
            problems.append(f"the {label} run {info['id']} is not in the store")
            continue
        same_model = model_digests(run["system"]) == info["digests"]
        if run["fingerprint"] != info["fingerprint"] or not same_model:
            problems.append(f"the {label} run {info['id']} is not the model the verdict names")
        if records_digest(store, run["id"]) != info["records_sha256"]:
            problems.append(
                f"the records of the {label} run {info['id']} changed after the verdict"
            )
        runs[side] = run
    if predicate["run"]["digests"] != digests:
        problems.append("the verdict's subject is not the run it was computed from")
    if problems or "run" not in runs:
        return problems
    approval = {g.id for g in policy.gates if getattr(g, "check", None) == "approval"}
    roles = [a for g in policy.gates if g.id in approval for a in getattr(g, "approvers", [])]
    evidence = Evidence(
        store=store,
        run=runs["run"],
        baseline=runs.get("baseline"),
        approvals=[{"by": role} for role in roles],
        data_census=predicate.get("data_census"),
    )
    evidence.today = date.fromisoformat(str(predicate["verdict_at"])[:10])
    recomputed = evaluate(policy, evidence)
    signed = predicate["gates"]
    for gate in recomputed.gates:
        if gate.gate_id in approval:
            continue
        claimed = signed.get(gate.gate_id, {}).get("status")
        if claimed != gate.status:
            problems.append(
                f"gate {gate.gate_id}: the signed verdict says {claimed}, the records say "
                f"{gate.status}"
            )
    for gate_id in set(signed) - {g.gate_id for g in recomputed.gates}:
        problems.append(f"gate {gate_id}: in the signed verdict, not in the policy")
    return problems
