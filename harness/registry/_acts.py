"""The signed acts of a release (registration, verdict, approval, promotion,
rollback, a production monitor's verdict on a canary) and reading them back.

Each act is a Statement about the model's digests, signed by the key of whoever
acts and kept with an audit record. What a later check needs is in the signed
predicate, never only in a table: a registration names the run, its records'
digest, the training manifest's digest and who trained the model; a verdict
names the policy's hash, the records it was computed from and its baseline; an
approval names the version and the reason; a monitor verdict names the canary
and production versions it compared and the request logs it read. Read back,
an act counts only as the release rules say (``alias_movers``: whose moves of
an alias count).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from finegate.harness.core import FinegateError
from finegate.harness.registry._evidence import (
    Evidence,
    record_statement,
    records_digest,
    verified_evidence,
)
from finegate.harness.registry._versions import ModelVersion, artifacts_of
from finegate.harness.registry.trust import (
    Keyring,
    MonitorRule,
    ReleaseRules,
    make_statement,
    model_digests,
    sign,
)
from finegate.harness.store import Store, now_iso


class ActRefused(FinegateError):
    """An act the rules do not allow this signer (four eyes, an unknown key)."""


def _signed(
    store: Store,
    kind: str,
    digests: Mapping[str, str],
    predicate: dict[str, Any],
    signer: Any,
    *,
    ref: str,
    actor: str,
    payload: dict[str, Any] | None = None,
) -> str:
    statement = make_statement(kind, digests, {**predicate, "created_at": now_iso()})
    return record_statement(
        store,
        sign(statement, [signer]),
        kind=kind,
        subject=digests["fingerprint"],
        ref=ref,
        actor=actor,
        payload=payload,
    )


def sign_registration(
    store: Store, version: ModelVersion, run: dict[str, Any], signer: Any, *, actor: str
) -> str:
    """Bind ``NAME:N`` to the digests of the model its evaluation run evaluated."""
    manifest = version.lineage.get("training_manifest") or {}
    predicate = {
        "name": version.name,
        "version": version.version,
        "run": run["id"],
        "records_sha256": records_digest(store, run["id"]),
        "source": version.source,
        "artifacts": artifacts_of(run["fingerprint"], version.lineage),
        "trained_by": manifest.get("trained_by"),
    }
    return _signed(
        store,
        "registration",
        model_digests(run["system"]),
        predicate,
        signer,
        ref=version.ref,
        actor=actor,
    )


def sign_verdict(
    store: Store,
    verdict: dict[str, Any],
    run: dict[str, Any],
    baseline: dict[str, Any] | None,
    signer: Any,
    *,
    data_census: dict[str, Any] | None = None,
    actor: str,
) -> str:
    """A gate verdict with the digests of the records it was computed from."""

    def side(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": r["id"],
            "fingerprint": r["fingerprint"],
            "digests": model_digests(r["system"]),
            "suites": {s["id"]: s["hash"] for s in r["suites"]},
            "records_sha256": records_digest(store, r["id"]),
        }

    predicate = {
        "verdict_id": verdict["id"],
        "verdict_at": verdict["created_at"],
        "status": verdict["status"],
        "gates": {
            g["gate_id"]: {"status": g["status"], "severity": g["severity"]}
            for g in verdict["gates"]
        },
        "policy": {
            "id": verdict["policy_id"],
            "version": verdict.get("policy_version"),
            "hash": verdict["policy_hash"],
        },
        "run": side(run),
        "baseline": side(baseline) if baseline else None,
        "data_census": data_census,
    }
    return _signed(
        store,
        "verdict",
        model_digests(run["system"]),
        predicate,
        signer,
        ref=verdict["id"],
        actor=actor,
        payload={"status": verdict["status"], "policy": verdict["policy_hash"]},
    )


def four_eyes(registration: Evidence, person: str) -> str | None:
    """Why ``person`` may not approve the version this registration names, if so."""
    if person == registration.person:
        return f"{person} registered this version and may not approve it too (four eyes)"
    if person and person == registration.predicate.get("trained_by"):
        return f"{person} trained this version and may not approve it too (four eyes)"
    return None


def sign_approval(
    store: Store,
    keyring: Keyring,
    registration: Evidence,
    signer: Any,
    reason: str,
    *,
    actor: str,
) -> str:
    """A named person's approval of the exact model a registration names."""
    keyid = signer.public_key.keyid
    person = keyring.person_of(keyid)
    if person is None:
        raise ActRefused(f"key {keyid[:12]} is in no one's name in the release rules' keyring")
    refused = four_eyes(registration, person)
    if refused:
        raise ActRefused(refused)
    ref = f"{registration.predicate['name']}:{registration.predicate['version']}"
    predicate = {"version": ref, "reason": reason, "roles": keyring.roles_of(person)}
    return _signed(
        store,
        "approval",
        registration.digests,
        predicate,
        signer,
        ref=ref,
        actor=person,
        payload={"reason": reason},
    )


def sign_alias_move(
    store: Store,
    kind: str,
    registration: Evidence,
    alias: str,
    previous: int | None,
    signer: Any,
    evidence: dict[str, Any],
    *,
    actor: str,
) -> str:
    """A promotion or rollback: NAME@ALIAS -> NAME:N, with the evidence it rests on."""
    name, version = registration.predicate["name"], registration.predicate["version"]
    predicate = {
        "name": name,
        "version": version,
        "alias": alias,
        "previous": previous,
        **evidence,
    }
    return _signed(
        store,
        kind,
        registration.digests,
        predicate,
        signer,
        ref=f"{name}@{alias}",
        actor=actor,
        payload={"version": f"{name}:{version}", "alias": alias},
    )


def sign_monitor_verdict(
    store: Store,
    verdict: dict[str, Any],
    canary: Evidence,
    production: Evidence | None,
    signer: Any,
    *,
    actor: str,
    canary_alias: str = "canary",
) -> str:
    """A production monitor's verdict on the canary, about the canary's exact
    model (the digests of its signed registration), signed by the monitor's key.

    ``verdict`` carries ``id``, ``created_at``, ``status`` (pass, fail or
    undecided), ``policy_id``, ``policy_version``, ``policy_hash``, ``gates``
    (a list of ``{gate_id, status, severity}``), ``report_id`` and
    ``requests_sha256`` (``{"canary": ..., "production": ...}``: the digests of
    the request-log windows it was computed from). ``canary`` and
    ``production`` are the signed registrations of the two versions compared
    (``production`` None: nothing was at production)."""
    if verdict["status"] not in ("pass", "fail", "undecided"):
        raise ActRefused(f"a monitor verdict is pass, fail or undecided, not {verdict['status']!r}")
    name = canary.predicate["name"]
    if production is not None and production.predicate["name"] != name:
        raise ActRefused(f"the canary is a version of {name}, production of another model")
    predicate = {
        "verdict_id": verdict["id"],
        "verdict_at": verdict["created_at"],
        "status": verdict["status"],
        "policy": {
            "id": verdict["policy_id"],
            "version": verdict["policy_version"],
            "hash": verdict["policy_hash"],
        },
        "name": name,
        "canary_version": canary.predicate["version"],
        "production_version": production.predicate["version"] if production else None,
        "production_fingerprint": production.digests["fingerprint"] if production else None,
        "gates": {
            g["gate_id"]: {"status": g["status"], "severity": g["severity"]}
            for g in verdict["gates"]
        },
        "report": verdict["report_id"],
        "requests_sha256": dict(verdict["requests_sha256"]),
    }
    return _signed(
        store,
        "monitor-verdict",
        canary.digests,
        predicate,
        signer,
        ref=f"{name}@{canary_alias}",
        actor=actor,
        payload={"status": verdict["status"], "policy": verdict["policy_hash"]},
    )


def register_run(
    registry: Any,
    store: Store,
    name: str,
    run: dict[str, Any],
    *,
    actor: str,
    signer: Any = None,
) -> tuple[ModelVersion, str | None]:
    """The system a run evaluated as a new version of ``name``, with its lineage;
    signed (a registration statement) when a key is given: only a signed
    registration can ever be promoted."""
    from finegate.harness.registry._versions import lineage_of
    from finegate.harness.system import innermost

    inner = innermost(run["system"])
    version = registry.register(
        name,
        fingerprint=run["fingerprint"],
        source=inner.get("adapter") or inner.get("model"),
        lineage={**lineage_of(run["system"]), "evaluation_runs": [run["id"]]},
        actor=actor,
    )
    statement = sign_registration(store, version, run, signer, actor=actor) if signer else None
    return version, statement


def alias_movers(rules: ReleaseRules, name: str, alias: str) -> tuple[list[str], list[str]]:
    """Whose signed moves of ``NAME@ALIAS`` count: the roles that may promote to
    it (its rule's promoters; none without a rule), and the roles whose signed
    rollbacks count: those, and the monitor signers of every rule of NAME that
    watches ALIAS as its canary and lets its monitor roll it back."""
    rule = rules.rule_for(name, alias)
    promoters = list(rule.promoters) if rule else []
    rollers = list(promoters)
    for r in rules.rules:
        if r.model == name and r.monitor and r.monitor.roll_back and r.monitor.canary == alias:
            rollers += [role for role in r.monitor.signers if role not in rollers]
    return promoters, rollers


def signed_moves(
    store: Store,
    rules: ReleaseRules,
    name: str,
    alias: str,
    promoters: list[str] | None = None,
    *,
    monitors: bool = True,
) -> list[Evidence]:
    """Every signed promotion or rollback of ``NAME@ALIAS`` that counts (see
    ``audited_holder``), oldest first."""
    own, rollers = alias_movers(rules, name, alias)
    promoters = own if promoters is None else list(promoters)
    rollers = [*promoters, *(r for r in rollers if monitors and r not in promoters)]
    moves: list[Evidence] = []
    for kind, roles in (("promotion", promoters), ("rollback", rollers)):
        if not roles:
            continue
        found, _ = verified_evidence(store, rules.keyring, kind, ref=f"{name}@{alias}", roles=roles)
        moves += [
            e
            for e in found
            if e.predicate.get("name") == name
            and e.predicate.get("alias") == alias
            and (set(e.roles) & set(promoters) or _emergency_counts(store, rules, e))
        ]
    return sorted(moves, key=lambda e: e.created_at)


def _emergency_counts(store: Store, rules: ReleaseRules, move: Evidence) -> bool:
    """A rollback signed by a monitor signer (no promoter) counts only as the
    emergency it may be: it put back the version that was at the watching rule's
    alias when it was signed, and says it is an emergency."""
    if move.predicate.get("emergency") is not True:
        return False
    name, alias = move.predicate["name"], move.predicate["alias"]
    for rule in rules.rules:
        watch = rule.monitor
        if not (rule.model == name and watch and watch.roll_back and watch.canary == alias):
            continue
        if not set(move.roles) & set(watch.signers):
            continue
        then = [
            m
            for m in signed_moves(store, rules, name, rule.alias, monitors=False)
            if m.created_at <= move.created_at
        ]
        if then and (then[-1].predicate["version"], then[-1].digests.get("fingerprint")) == (
            move.predicate["version"],
            move.digests.get("fingerprint"),
        ):
            return True
    return False


def audited_holder(
    store: Store,
    rules: ReleaseRules,
    name: str,
    alias: str,
    promoters: list[str] | None = None,
) -> Evidence | None:
    """The newest signed move of ``NAME@ALIAS`` that counts: the version at the
    alias as far as anyone with the right to move it signed. A promotion counts
    when a promoter signed it; a rollback when a promoter signed it, or when a
    monitor signer of a rule watching ALIAS as its canary signed it as an
    emergency that put back that rule's version of the time (``alias_movers``).
    ``promoters`` stands in for the roles of NAME@ALIAS's own rule (a baseline
    alias without a rule of its own)."""
    return next(reversed(signed_moves(store, rules, name, alias, promoters)), None)


def monitor_verdict(
    store: Store,
    rules: ReleaseRules,
    watch: MonitorRule,
    canary: Evidence,
    production: Evidence | None,
    placed_at: str,
) -> tuple[Evidence | None, list[str]]:
    """The newest monitor verdict that speaks of this canary now: signed by
    a key of the monitor's roles, about the canary's registered digests, against
    the version now at production (its fingerprint too), made after the canary
    was placed, of the monitor's policy; or every reason there is none."""
    name, version = canary.predicate["name"], canary.predicate["version"]
    found, refused = verified_evidence(
        store,
        rules.keyring,
        "monitor-verdict",
        subject=canary.digests["fingerprint"],
        roles=watch.signers,
    )
    about = [
        v
        for v in found
        if v.digests == canary.digests
        and v.predicate.get("name") == name
        and v.predicate.get("canary_version") == version
    ]
    if not about:
        who = ", ".join(watch.signers)
        return None, [
            f"no monitor verdict signed by a key of {who} about {name}:{version}",
            *refused,
        ]
    now = (
        (production.predicate["version"], production.digests.get("fingerprint"))
        if production
        else (None, None)
    )
    against = [
        v
        for v in about
        if (v.predicate.get("production_version"), v.predicate.get("production_fingerprint")) == now
    ]
    if not against:
        seen = sorted({str(v.predicate.get("production_version")) for v in about})
        there = f"{name}@{production.predicate['alias']}" if production else "production"
        return None, [
            f"the monitor verdicts about {name}:{version} compared it with version "
            f"{', '.join(seen)}, not with the version now at {there} ({now[0]})"
        ]
    fresh = [v for v in against if v.created_at >= placed_at]
    if not fresh:
        return None, [
            f"the monitor verdicts about {name}:{version} predate its placement as canary"
        ]
    pin = watch.policy
    ours = [v for v in fresh if v.predicate["policy"]["hash"] == pin.hash]
    if not ours:
        others = sorted({str(v.predicate["policy"]["hash"])[:12] for v in fresh})
        return None, [
            f"no monitor verdict of policy {pin.id} v{pin.version} ({pin.hash[:12]}) about "
            f"{name}:{version}; verdicts of other policies do not count: {', '.join(others)}"
        ]
    return max(ours, key=lambda v: v.created_at), []


def registration_of(
    store: Store, rules: ReleaseRules, name: str, version: int
) -> tuple[Evidence | None, list[str]]:
    """The newest signed registration of ``NAME:N``."""
    ref = f"{name}:{version}"
    found, refused = verified_evidence(store, rules.keyring, "registration", ref=ref)
    found = [
        e
        for e in found
        if e.predicate.get("name") == name and e.predicate.get("version") == version
    ]
    if not found:
        return None, [f"no signed registration of {ref} by a key of the keyring", *refused]
    return max(found, key=lambda e: e.created_at), []


def acting_person(
    rules: ReleaseRules, signer: Any, roles: list[str], may: str
) -> tuple[str, list[str]]:
    """The person whose key ``signer`` is, and why they may not act, if so."""
    keyid = signer.public_key.keyid
    person = rules.keyring.person_of(keyid)
    if person is None:
        return "", [f"the signing key {keyid[:12]} is in no one's name in the keyring"]
    if rules.keyring.revoked_since(keyid) is not None:
        return person, [f"{person}'s key {keyid[:12]} is revoked"]
    if not set(rules.keyring.roles_of(person)) & set(roles):
        return person, [f"{person} holds none of the roles that may {may}: {', '.join(roles)}"]
    return person, []
