"""The signed acts of a release: registration, verdict, approval, promotion.

Each act is a Statement about the model's digests, signed by the key of whoever
acts and kept with an audit record. What a later check needs is in the signed
predicate, never only in a table: a registration names the run, its records'
digest, the training manifest's digest and who trained the model; a verdict
names the policy's hash, the records it was computed from and its baseline; an
approval names the version and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from finegate.harness.core import FinegateError
from finegate.harness.registry._evidence import Evidence, record_statement, records_digest
from finegate.harness.registry._versions import ModelVersion, artifacts_of
from finegate.harness.registry.trust import Keyring, make_statement, model_digests, sign
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
