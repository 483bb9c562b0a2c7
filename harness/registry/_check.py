"""``registry verify``: do the registry's rows and tags agree with what was signed?

A backend's own records (an alias, a version's fingerprint) can be changed by
anyone who can write them: a DBA, an MLflow user with write access. Each alias
a release rule governs is compared with the last signed move to it, and each of
its model's versions with its signed registration. A move that was signed and
recorded but not made (a crash between the two) is completed on request; a
move nobody signed is reported and never adopted.
"""

from __future__ import annotations

from dataclasses import dataclass

from finegate.harness.core import FinegateError
from finegate.harness.registry._acts import audited_holder, registration_of
from finegate.harness.registry._base import Registry
from finegate.harness.registry.trust import TrustRoot, current_rules
from finegate.harness.store import Store


@dataclass(frozen=True)
class Finding:
    subject: str
    problem: str
    repaired: bool = False


def verify_registry(
    registry: Registry, store: Store, trust: TrustRoot, *, repair: bool = False, actor: str
) -> list[Finding]:
    """Every disagreement between the registry and the signed record."""
    rules = current_rules(store, trust)
    if rules is None:
        return [Finding(store.location, "no release rules: nothing is governed")]
    found: list[Finding] = []
    for model in sorted({r.model for r in rules.rules}):
        for version in registry.versions(model):
            registration, _ = registration_of(store, rules, model, version.version)
            if registration is None:
                continue
            signed = registration.digests["fingerprint"]
            if version.fingerprint != signed:
                found.append(
                    Finding(
                        version.ref,
                        f"the registry gives fingerprint {version.fingerprint[:12]}; the signed "
                        f"registration {signed[:12]}",
                    )
                )
    for rule in rules.rules:
        subject = f"{rule.model}@{rule.alias}"
        holder = audited_holder(store, rules, rule.model, rule.alias, rule.promoters)
        try:
            current: int | None = registry.get(subject).version
        except FinegateError:
            current = None
        signed = holder.predicate["version"] if holder else None
        if current == signed:
            continue
        if holder is not None and current == holder.predicate.get("previous"):
            if repair:
                registry.set_alias(
                    rule.model,
                    rule.alias,
                    int(signed),
                    actor=actor,
                    reason="completing a signed move",
                    action="recover",
                    audit={"statement": holder.id},
                )
            found.append(
                Finding(
                    subject,
                    f"the signed move to version {signed} was recorded but not made",
                    repaired=repair,
                )
            )
            continue
        found.append(
            Finding(
                subject,
                f"points at version {current} but the last signed move put {signed} there: it "
                "was moved outside finegate",
            )
        )
    return found
