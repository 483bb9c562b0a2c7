"""Promotion and rollback, only as the release rules say.

``promote`` takes no policy and no baseline of its own: it reads the release
rules the root signed (checked against the pinned trust root) and moves an
alias only when, for this exact model (the digests of its signed registration,
not a table row or a tag):

- a verdict of the rule's policy (same content hash) passed, signed by a key of
  a role the rule names, made after the registration, against the baseline the
  rule names (never the candidate itself, on the same suite hashes);
- the verdict is re-checked: ``recheck`` recomputes it from the stored records
  and the policy, so a stale or forged verdict is caught even when its signer's
  key is honest;
- every approval the policy asks for is a signed statement by a person who holds
  that role in the keyring, and who neither registered nor trained the version;
- the promoter's own key holds a role the rule allows to promote;
- where the rule has a ``monitor`` that is ``required``: the newest monitor
  verdict about the version as the canary, against the version now at the
  alias, passed and is re-checked (``monitor_recheck``);
- the audit log still extends every signed checkpoint kept outside the store
  (``_transparency``): no alias moves on a rewritten, reordered or emptied log.

A refusal lists every reason at once. A promotion is itself a signed statement,
recorded (with its audit record) before the alias moves; a new checkpoint,
signed by the promoter, is kept once it has moved. ``roll_back_canary`` is
the one move without approval: a monitor signer puts the canary back on a
failing, re-checked monitor verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from finegate.harness.core import FinegateError
from finegate.harness.registry._acts import (
    acting_person,
    audited_holder,
    four_eyes,
    monitor_verdict,
    registration_of,
    sign_alias_move,
)
from finegate.harness.registry._base import Registry
from finegate.harness.registry._evidence import Evidence, verified_evidence
from finegate.harness.registry._transparency import (
    LogRewritten,
    keep_checkpoint,
    note_keys,
    require_extends,
)
from finegate.harness.registry._versions import ModelVersion, parse_ref
from finegate.harness.registry.trust import PolicyPin, ReleaseRules, Rule, TrustRoot, current_rules
from finegate.harness.store import Store

Recheck = Callable[[Evidence, PolicyPin], list[str]]
"""Recompute a verdict from the stored records and the policy: the problems found."""


class PromotionRefused(FinegateError):
    """The version may not take the alias; ``reasons`` says why, one per line."""

    def __init__(self, ref: str, alias: str, reasons: list[str]):
        self.reasons = reasons
        super().__init__(
            f"{ref} may not become {alias!r}:\n" + "\n".join(f"- {r}" for r in reasons)
        )


def rules_for(store: Store, trust: TrustRoot, ref: str, alias: str) -> tuple[ReleaseRules, Rule]:
    rules = current_rules(store, trust)
    if rules is None:
        raise PromotionRefused(
            ref, alias, [f"{store.location} holds no release rules: `finegate rules apply` first"]
        )
    name = parse_ref(ref)[0]
    rule = rules.rule_for(name, alias)
    if rule is None:
        raise PromotionRefused(
            ref,
            alias,
            [f"the release rules (version {rules.version}) name no rule for {name}@{alias}"],
        )
    return rules, rule


def _baseline_problems(
    store: Store, rules: ReleaseRules, rule: Rule, verdict: Evidence, registration: Evidence
) -> list[str]:
    baseline = verdict.predicate.get("baseline")
    if not baseline:
        return ["the verdict has no baseline; the release rule names one"]
    problems = []
    if baseline["fingerprint"] == registration.digests["fingerprint"]:
        problems.append("the verdict's baseline is the candidate itself")
    run_suites = verdict.predicate["run"]["suites"]
    for suite in rule.policy.content.get("suites", []):
        if run_suites.get(suite) is None or baseline["suites"].get(suite) != run_suites[suite]:
            problems.append(f"the baseline did not run suite {suite!r} at the candidate's version")
    want = rule.baseline
    if want.alias is not None:
        governing = rules.rule_for(rule.model, want.alias)
        promoters = governing.promoters if governing else rule.promoters
        holder = audited_holder(store, rules, rule.model, want.alias, promoters)
        if holder is not None:
            if baseline["fingerprint"] != holder.digests.get("fingerprint"):
                problems.append(
                    f"the baseline must be {rule.model}@{want.alias} "
                    f"({rule.model}:{holder.predicate['version']}); the verdict's is run "
                    f"{baseline['id']}"
                )
            return problems
        if want.when_unset == "refuse":
            return [*problems, f"no version is at {rule.model}@{want.alias} to compare with"]
    elif want.run is not None:
        if baseline["id"] != want.run:
            problems.append(
                f"the baseline must be run {want.run}; the verdict's is {baseline['id']}"
            )
        return problems
    weights = registration.digests.get("weights")
    if weights is None:
        return [*problems, "the candidate names no base weights to compare a prompted run with"]
    if baseline["digests"].get("adapter") or baseline["digests"].get("weights") != weights:
        problems.append(
            f"the baseline must be a prompted run of the candidate's base model; run "
            f"{baseline['id']} is another model"
        )
    return problems


def _verdict_problems(
    store: Store,
    rules: ReleaseRules,
    rule: Rule,
    registration: Evidence,
    recheck: Recheck,
) -> tuple[Evidence | None, list[str]]:
    """The newest verdict that holds, or every reason the verdicts do not."""
    fingerprint = registration.digests["fingerprint"]
    found, refused = verified_evidence(
        store, rules.keyring, "verdict", subject=fingerprint, roles=rule.verdict_signers
    )
    pin = rule.policy
    ours = [
        v
        for v in found
        if v.predicate["policy"]["hash"] == pin.hash and v.digests == registration.digests
    ]
    others = sorted(
        {
            f"{v.predicate['policy']['id']} ({v.predicate['policy']['hash'][:12]})"
            for v in found
            if v not in ours
        }
    )
    if not ours:
        reasons = [
            f"no verdict of policy {pin.id} v{pin.version} ({pin.hash[:12]}) signed by a key of "
            f"{', '.join(rule.verdict_signers)} for this model"
        ]
        if others:
            reasons.append(f"verdicts of other policies do not count: {', '.join(others)}")
        return None, reasons + refused
    fresh = [v for v in ours if v.created_at >= registration.created_at]
    if not fresh:
        return None, [f"the verdicts of policy {pin.id} predate this version's registration"]
    reasons: list[str] = []
    for verdict in sorted(fresh, key=lambda v: v.created_at, reverse=True):
        problems = []
        failed = blocking_failures(verdict, pin)
        if failed:
            problems.append(f"blocking gates did not pass: {', '.join(failed)}")
        problems += _baseline_problems(store, rules, rule, verdict, registration)
        if not problems:
            problems += recheck(verdict, pin)
        if not problems:
            return verdict, []
        reasons = reasons or [f"verdict {verdict.predicate['verdict_id']}: {p}" for p in problems]
    return None, reasons


def blocking_failures(verdict: Evidence, pin: PolicyPin) -> list[str]:
    """The blocking gates a verdict did not pass, approval gates aside: approvals
    are decided at promotion, from signed approval statements."""
    approval = {g["id"] for g in pin.content.get("gates", []) if g.get("check") == "approval"}
    return [
        f"{gate_id} ({g['status']})"
        for gate_id, g in verdict.predicate["gates"].items()
        if gate_id not in approval and g["severity"] == "block" and g["status"] in ("fail", "error")
    ]


def _approval_problems(
    store: Store, rules: ReleaseRules, rule: Rule, registration: Evidence, ref: str
) -> tuple[list[Evidence], list[str]]:
    found, _ = verified_evidence(
        store, rules.keyring, "approval", subject=registration.digests["fingerprint"]
    )
    found = [
        a
        for a in found
        if a.predicate.get("version") == ref
        and a.digests == registration.digests
        and a.created_at >= registration.created_at
    ]
    used, reasons = [], []
    for role in rule.policy.approver_roles():
        holders = [a for a in found if role in a.roles]
        valid = [a for a in holders if four_eyes(registration, a.person) is None]
        if valid:
            used.append(valid[-1])
        elif holders:
            reasons.append(str(four_eyes(registration, holders[-1].person)))
        else:
            reasons.append(f"no signed approval of {ref} by a person holding the role {role}")
    return used, reasons


def promote(
    registry: Registry,
    store: Store,
    ref: str,
    alias: str,
    *,
    trust: TrustRoot,
    signer: Any,
    recheck: Recheck,
    checkpoints: str | Path,
    monitor_recheck: Recheck | None = None,
) -> dict[str, Any]:
    """Move ``alias`` to the version ``ref`` names, if the release rules allow it
    and the audit log extends every checkpoint kept in ``checkpoints``; then keep
    a new checkpoint there, signed by the promoter. Where the rule's ``monitor``
    is ``required``, a passing monitor verdict of the version as the canary is
    needed too, re-checked by ``monitor_recheck``."""
    version = registry.get(ref)
    checked = _log_intact(store, trust, checkpoints, version.ref, alias)  # the log first
    rules, rule = rules_for(store, trust, version.ref, alias)
    person, reasons = acting_person(rules, signer, rule.promoters, "promote")
    registration, why = registration_of(store, rules, version.name, version.version)
    if registration is None:
        raise PromotionRefused(version.ref, alias, reasons + why)
    if registration.digests["fingerprint"] != version.fingerprint:
        reasons.append(
            f"the registry gives {version.ref} fingerprint {version.fingerprint[:12]}, its signed "
            f"registration {registration.digests['fingerprint'][:12]}: changed after registration"
        )
    verdict, why = _verdict_problems(store, rules, rule, registration, recheck)
    reasons += why
    approvals, why = _approval_problems(store, rules, rule, registration, version.ref)
    reasons += why
    holder = audited_holder(store, rules, rule.model, rule.alias)
    watched, why = _watched_problems(store, rules, rule, registration, holder, monitor_recheck)
    reasons += why
    if reasons or verdict is None:
        raise PromotionRefused(version.ref, alias, reasons)
    previous = holder.predicate["version"] if holder else None
    evidence = {
        "verdict": verdict.id,
        "approvals": [a.id for a in approvals],
        "rules_version": rules.version,
        "policy": rule.policy.hash,
        **({"monitor_verdict": watched.id} if watched else {}),
    }
    sid = sign_alias_move(
        store, "promotion", registration, alias, previous, signer, evidence, actor=person
    )
    registry.set_alias(
        version.name,
        alias,
        version.version,
        actor=person,
        reason=f"policy {rule.policy.id} v{rule.policy.version} passed",
        action="promote",
        audit={"statement": sid, "verdict_id": verdict.predicate["verdict_id"], **evidence},
    )
    return {
        "version": version.ref,
        "alias": alias,
        "verdict_id": verdict.predicate["verdict_id"],
        "statement": sid,
        "checkpoints_checked": checked,
        "checkpoint": str(keep_checkpoint(store, signer, checkpoints)),
    }


def rollback(
    registry: Registry,
    store: Store,
    name: str,
    alias: str,
    *,
    trust: TrustRoot,
    signer: Any,
    checkpoints: str | Path,
    reason: str = "rollback",
) -> dict[str, Any]:
    """Move ``alias`` back to the version the last signed move replaced, after
    checking that nothing moved it outside finegate since."""
    checked = _log_intact(store, trust, checkpoints, name, alias)  # the log first
    rules, rule = rules_for(store, trust, name, alias)
    person, reasons = acting_person(rules, signer, rule.promoters, "promote")
    holder = audited_holder(store, rules, name, alias)
    if holder is None:
        raise PromotionRefused(name, alias, [*reasons, f"{name}@{alias} was never promoted"])
    current = _registry_alias(registry, name, alias)
    if current != holder.predicate["version"]:
        reasons.append(
            f"{name}@{alias} points at version {current} but the last signed move put "
            f"{holder.predicate['version']} there: it was moved outside finegate "
            "(`finegate registry verify` says more)"
        )
    # the promotion that put the current version there knows what it replaced
    found, _ = verified_evidence(
        store, rules.keyring, "promotion", ref=f"{name}@{alias}", roles=rule.promoters
    )
    placed = [e for e in found if e.predicate.get("version") == holder.predicate["version"]]
    previous = max(placed, key=lambda e: e.created_at).predicate.get("previous") if placed else None
    if previous is None:
        reasons.append(f"{name}@{alias} has no earlier version to roll back to")
    registration = None
    if previous is not None:
        registration, why = registration_of(store, rules, name, int(previous))
        reasons += why
    if reasons or registration is None:
        raise PromotionRefused(f"{name}@{alias}", alias, reasons)
    sid = sign_alias_move(
        store,
        "rollback",
        registration,
        alias,
        holder.predicate["version"],
        signer,
        {"reason": reason, "rules_version": rules.version},
        actor=person,
    )
    registry.set_alias(
        name,
        alias,
        int(previous),
        actor=person,
        reason=reason,
        action="rollback",
        audit={"statement": sid},
    )
    return {
        "alias": f"{name}@{alias}",
        "from": holder.predicate["version"],
        "to": previous,
        "checkpoints_checked": checked,
        "checkpoint": str(keep_checkpoint(store, signer, checkpoints)),
    }


def _watched_problems(
    store: Store,
    rules: ReleaseRules,
    rule: Rule,
    registration: Evidence,
    production: Evidence | None,
    recheck: Recheck | None,
) -> tuple[Evidence | None, list[str]]:
    """The passing monitor verdict a promotion to a watched alias rests on: the
    newest about the candidate, at the canary since before it was made, against
    the version now at the alias; re-checked."""
    watch = rule.monitor
    if watch is None or not watch.required:
        return None, []
    if recheck is None:
        return None, ["a monitor verdict is required and no way to re-check it was given"]
    name, version = registration.predicate["name"], registration.predicate["version"]
    held = audited_holder(store, rules, name, watch.canary)
    if held is None or (held.predicate["version"], held.digests) != (version, registration.digests):
        now = f"{name}:{held.predicate['version']}" if held else "nothing"
        return None, [f"{name}:{version} is not at {name}@{watch.canary} ({now} is): not watched"]
    newest, why = monitor_verdict(store, rules, watch, registration, production, held.created_at)
    if newest is None:
        return None, why
    vid = newest.predicate.get("verdict_id")
    if newest.predicate.get("status") != "pass":
        return None, [
            f"monitor verdict {vid} of {name}:{version}: {newest.predicate.get('status')}"
        ]
    return newest, [f"monitor verdict {vid}: {p}" for p in recheck(newest, watch.policy)]


def roll_back_canary(
    registry: Registry,
    store: Store,
    name: str,
    *,
    trust: TrustRoot,
    signer: Any,
    checkpoints: str | Path,
    recheck: Recheck,
    alias: str = "production",
) -> dict[str, Any]:
    """The emergency path: move the canary the rule for ``NAME@ALIAS`` watches back
    to the version at ALIAS, with no approval, when the newest monitor verdict
    about it (against that version, of the monitor's policy, signed by a key of
    the monitor's roles) failed and ``recheck`` finds nothing wrong with it. The
    signer holds one of the monitor's roles; the move is a signed rollback with
    its audit record, and a checkpoint is kept like a promotion's."""
    checked = _log_intact(store, trust, checkpoints, name, alias)  # the log first
    rules, rule = rules_for(store, trust, name, alias)
    watch = rule.monitor
    if watch is None or not watch.roll_back:
        why = "has no monitor" if watch is None else "does not let its monitor roll back"
        raise PromotionRefused(name, "canary", [f"the release rule for {name}@{alias} {why}"])
    canary = watch.canary
    person, reasons = acting_person(rules, signer, watch.signers, "roll the canary back")
    production = audited_holder(store, rules, name, alias)
    held = audited_holder(store, rules, name, canary)
    if production is None:
        reasons.append(f"no version is at {name}@{alias} by a signed move: nothing to go back to")
    if held is None:
        reasons.append(f"{name}@{canary} was never moved by a signed move: nothing to roll back")
    if production is None or held is None:
        raise PromotionRefused(name, canary, reasons)
    to, was = production.predicate["version"], held.predicate["version"]
    if to == was:
        reasons.append(f"{name}@{canary} already holds {name}:{to}, the version at {alias}")
    target, why = registration_of(store, rules, name, to)
    reasons += why
    registration, why = registration_of(store, rules, name, was)
    reasons += why
    verdict = None
    if registration is not None:
        verdict, why = monitor_verdict(
            store, rules, watch, registration, production, held.created_at
        )
        reasons += why
    if verdict is not None:
        vid, status = verdict.predicate.get("verdict_id"), verdict.predicate.get("status")
        if status != "fail":
            reasons.append(f"the newest monitor verdict about {name}:{was} ({vid}) is {status}")
        else:
            reasons += [f"monitor verdict {vid}: {p}" for p in recheck(verdict, watch.policy)]
    if reasons or verdict is None or target is None:
        raise PromotionRefused(f"{name}:{to}", canary, reasons)
    failed = [g for g, v in verdict.predicate["gates"].items() if v.get("status") == "fail"]
    reason = f"monitor verdict {verdict.predicate['verdict_id']} failed: {', '.join(failed)}"
    evidence = {
        "monitor_verdict": verdict.id,
        "rules_version": rules.version,
        "policy": watch.policy.hash,
        "emergency": True,
        "reason": reason,
    }
    sid = sign_alias_move(store, "rollback", target, canary, was, signer, evidence, actor=person)
    registry.set_alias(
        name,
        canary,
        to,
        actor=person,
        reason=reason,
        action="rollback",
        audit={"statement": sid, "monitor_verdict": verdict.id, "emergency": True},
    )
    return {
        "alias": f"{name}@{canary}",
        "from": was,
        "to": to,
        "monitor_verdict": verdict.predicate["verdict_id"],
        "statement": sid,
        "checkpoints_checked": checked,
        "checkpoint": str(keep_checkpoint(store, signer, checkpoints)),
    }


def _log_intact(
    store: Store, trust: TrustRoot, checkpoints: str | Path, ref: str, alias: str
) -> int:
    """No alias moves on a log someone rewrote since a kept checkpoint; how many
    checkpoints were checked."""
    try:
        return require_extends(store, checkpoints, note_keys(store, trust))
    except LogRewritten as e:
        raise PromotionRefused(ref, alias, [str(e)]) from None


def _registry_alias(registry: Registry, name: str, alias: str) -> int | None:
    try:
        version: ModelVersion = registry.get(f"{name}@{alias}")
    except FinegateError:
        return None
    return version.version
