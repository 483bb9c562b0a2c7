"""Promotion and rollback: nothing reaches an alias without a passing verdict.

``promote`` moves an alias (``production``, say) to a model version only if a
stored verdict of *this* policy (same hash: a changed policy needs a new
verdict) passed for *this* model (same fingerprint), was made after the version
was registered, and every approval the policy's approval gates ask for is
recorded for the version. A refusal lists everything that is missing or
failing. Both promotions and rollbacks are alias moves with an audit record.
"""

from __future__ import annotations

from typing import Any

from finegate.harness.core import FinegateError
from finegate.harness.registry._base import Registry
from finegate.harness.registry._versions import ModelVersion
from finegate.harness.store import Store


class PromotionRefused(FinegateError):
    """The version may not take the alias; ``reasons`` says why, one per line."""

    def __init__(self, version: ModelVersion, alias: str, reasons: list[str]):
        self.reasons = reasons
        super().__init__(
            f"{version.ref} may not become {alias!r}:\n" + "\n".join(f"- {r}" for r in reasons)
        )


def required_approvers(policy: Any) -> list[str]:
    names: list[str] = []
    for gate in policy.gates:
        if getattr(gate, "check", None) == "approval":
            names += [a for a in gate.approvers if a not in names]
    return names


def promote(
    registry: Registry, store: Store, ref: str, alias: str, policy: Any, *, actor: str
) -> dict[str, Any]:
    version = registry.get(ref)
    policy_hash = policy.hash()
    verdicts = store.verdicts(fingerprint=version.fingerprint, policy_hash=policy_hash)
    reasons: list[str] = []
    fresh = [v for v in verdicts if v["created_at"] >= version.created_at]
    verdict = fresh[0] if fresh else None
    if not verdicts:
        reasons.append(
            f"no verdict of policy {policy.id} v{policy.version} "
            f"({policy_hash[:12]}) for this model (fingerprint "
            f"{version.fingerprint[:12]}): run `finegate gate` on its evaluation run"
        )
    elif verdict is None:
        reasons.append(
            f"the verdicts of policy {policy.id} for this model predate its "
            f"registration ({version.created_at}): gate it again"
        )
    elif verdict["status"] != "pass":
        blocking = [
            g
            for g in verdict["gates"]
            if g["severity"] == "block" and g["status"] in ("fail", "error")
        ]
        reasons += [f"gate {g['gate_id']}: {g['status']}: {g['message']}" for g in blocking]
    recorded = {a["by"] for a in registry.approvals(version.ref)}
    reasons += [
        f"no approval recorded by {name} (`finegate approve {version.ref} --by {name}`)"
        for name in required_approvers(policy)
        if name not in recorded
    ]
    if reasons:
        raise PromotionRefused(version, alias, reasons)
    assert verdict is not None
    registry.set_alias(
        version.name,
        alias,
        version.version,
        actor=actor,
        reason=f"policy {policy.id} v{policy.version} passed",
        action="promote",
        audit={
            "verdict_id": verdict["id"],
            "policy_hash": policy_hash,
            "run_id": verdict["run_id"],
        },
    )
    return {"version": version.ref, "alias": alias, "verdict_id": verdict["id"]}


def rollback(
    registry: Registry, name: str, alias: str, *, actor: str, reason: str = "rollback"
) -> dict[str, Any]:
    """Move ``alias`` back to the version it pointed at before its last move."""
    history = registry.alias_history(name, alias)
    if not history:
        raise FinegateError(f"{name}@{alias} was never set: nothing to roll back")
    current = history[-1]["version"]
    # the promotion that put the current version there knows what it replaced
    promotion = next(
        (e for e in reversed(history) if e["action"] == "promote" and e["version"] == current), None
    )
    previous = promotion["previous"] if promotion else None
    if previous is None:
        raise FinegateError(f"{name}@{alias} has no earlier version to roll back to")
    registry.set_alias(name, alias, int(previous), actor=actor, reason=reason, action="rollback")
    return {"alias": f"{name}@{alias}", "from": current, "to": previous}
