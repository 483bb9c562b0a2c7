"""Signed statements in the store, and reading them back as evidence.

The store keeps every statement's DSSE envelope (with its kind, the model
fingerprint it is about, and a reference for lookup); every statement is also
an audit record (action ``attest:<kind>``). Reading evidence back trusts none of those columns: each
envelope is verified against the keyring of the release rules, its signer is
named by the keyring (not by the row), a key revoked before the statement was
made does not count, and the statement's own subject must name the model asked
about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from finegate.harness.core import InputError, sha256_json
from finegate.harness.registry.audit import append
from finegate.harness.registry.trust import (
    Keyring,
    RulesError,
    StatementError,
    TrustRoot,
    Verified,
    moment,
    payload_of,
    predicate_type,
    statement_id,
    verify,
)
from finegate.harness.store import Store, now_iso, statements_table


@dataclass(frozen=True)
class Evidence:
    """A verified statement and who, by the keyring, signed it."""

    id: str
    verified: Verified
    person: str
    roles: tuple[str, ...]

    @property
    def predicate(self) -> dict[str, Any]:
        return self.verified.predicate

    @property
    def digests(self) -> dict[str, str]:
        return self.verified.digests

    @property
    def created_at(self) -> str:
        return str(self.predicate.get("created_at", ""))


def records_digest(store: Store, run_id: str) -> str:
    """One digest over everything a verdict reads of a run's records: per case its
    suite, suite hash, output, scores and facts."""
    return digest_of_records(store.records(run_id))


def digest_of_records(records: list[dict[str, Any]]) -> str:
    return sha256_json(
        [
            [r["suite_id"], r["case_id"], r["suite_hash"], r["output"], r["scores"], r["facts"]]
            for r in records
        ]
    )


def record_statement(
    store: Store,
    envelope: Mapping[str, Any],
    *,
    kind: str,
    subject: str,
    ref: str | None,
    actor: str,
    payload: dict[str, Any] | None = None,
) -> str:
    """Keep a signed statement and its audit record, in one transaction."""
    sid = statement_id(envelope)
    with store.transaction() as conn:
        conn.execute(
            statements_table.insert().values(
                id=sid,
                kind=kind,
                subject=subject,
                ref=ref,
                created_at=now_iso(),
                envelope_json=json.dumps(dict(envelope), sort_keys=True),
            )
        )
        append(
            conn,
            action=f"attest:{kind}",
            actor=actor,
            subject=ref or subject,
            payload={"statement": sid, **(payload or {})},
            artifacts={"statement": sid, "model": subject},
        )
    return sid


def envelopes(
    store: Store, kind: str, *, subject: str | None = None, ref: str | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Stored envelopes of a kind, oldest first, narrowed by the (untrusted) lookup
    columns; callers verify each one."""
    query = select(statements_table.c.id, statements_table.c.envelope_json).where(
        statements_table.c.kind == kind
    )
    if subject is not None:
        query = query.where(statements_table.c.subject == subject)
    if ref is not None:
        query = query.where(statements_table.c.ref == ref)
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(statements_table.c.created_at)).all()
    return [(sid, json.loads(text)) for sid, text in rows]


def envelope_by_id(store: Store, sid: str) -> dict[str, Any] | None:
    with store.engine.connect() as conn:
        text = conn.execute(
            select(statements_table.c.envelope_json).where(statements_table.c.id.startswith(sid))
        ).scalar()
    return None if text is None else json.loads(text)


def open_evidence(
    sid: str,
    envelope: Mapping[str, Any],
    keyring: Keyring,
    *,
    kind: str,
    roles: list[str] | None = None,
) -> tuple[Evidence | None, str | None]:
    """The verified evidence in an envelope, or why it does not count."""
    try:
        payload_of(envelope)  # a malformed envelope is named before its signatures
        verified = verify(envelope, keyring.keys(roles), 1)
    except StatementError as e:
        who = f" by a key of {', '.join(roles)}" if roles else " by a key of the keyring"
        return None, f"statement {sid[:12]} is not signed{who}: {e}"
    if verified.kind != kind:
        return None, f"statement {sid[:12]} is of kind {verified.kind!r}, not {kind!r}"
    person = keyring.person_of(verified.keyids[0])
    late = _revoked_signers(verified, keyring)
    if late:
        return None, f"statement {sid[:12]} is {person}'s, {late}"
    return Evidence(sid, verified, person or "", tuple(keyring.roles_of(person))), None


def verified_evidence(
    store: Store,
    keyring: Keyring,
    kind: str,
    *,
    subject: str | None = None,
    ref: str | None = None,
    roles: list[str] | None = None,
) -> tuple[list[Evidence], list[str]]:
    """Every statement of a kind that verifies, and the reasons the others do not."""
    found, refused = [], []
    for sid, envelope in envelopes(store, kind, subject=subject, ref=ref):
        evidence, why = open_evidence(sid, envelope, keyring, kind=kind, roles=roles)
        if evidence is None:
            refused.append(str(why))
        elif subject is not None and evidence.digests.get("fingerprint") != subject:
            refused.append(f"statement {sid[:12]} is about another model")
        else:
            found.append(evidence)
    return found, refused


def approvals_for(store: Store, keyring: Keyring, fingerprint: str) -> list[dict[str, Any]]:
    """Signed approvals of a model, one entry per role its approver holds (what the
    gate engine's approval gates read); four eyes is checked at promotion."""
    found, _ = verified_evidence(store, keyring, "approval", subject=fingerprint)
    return [
        {"by": role, "person": e.person, "statement": e.id, "reason": e.predicate.get("reason")}
        for e in found
        for role in e.roles
    ]


def bundle_evidence(store: Store, chain: list[dict[str, Any]]) -> dict[str, Any]:
    """What an audit bundle carries beside the log: every statement, every version
    of the release rules, the verdict rows, and each run a record or a signed
    verdict names, with its records (so their digests can be recomputed)."""
    from finegate.harness.registry.trust import rules_envelopes

    statements = {sid: envelope for sid, envelope in _all_envelopes(store)}
    run_ids = {r["payload"].get("run_id") for r in chain} | {
        side.get("id") for envelope in statements.values() for side in _verdict_sides(envelope)
    }
    runs = {}
    for rid in sorted(r for r in run_ids if r):
        try:
            run = store.get_run(rid)
        except InputError:
            continue
        runs[rid] = {
            "run": run,
            "metrics": {s: [m.to_dict() for m in ms] for s, ms in store.metrics(rid).items()},
            "records": store.records(rid),
        }
    return {
        "statements": statements,
        "rules": [{"version": v, "envelope": e} for v, e in rules_envelopes(store)],
        "verdicts": {v["id"]: v for v in store.verdicts()},
        "runs": runs,
    }


def _revoked_signers(verified: Verified, keyring: Keyring | None) -> str | None:
    """Why a verified statement does not count under the newest keyring's
    revocations (a key revoked before the statement was made), or None."""
    if keyring is None:
        return None
    made = str(verified.statement.get("predicate", {}).get("created_at", ""))
    for keyid in verified.keyids:
        revoked = keyring.revoked_since(keyid)
        if revoked is None:
            continue
        try:
            late = not made or moment(made) >= moment(revoked)
        except ValueError:  # a statement whose time cannot be read is not before anything
            late = True
        if late:
            return f"signed by key {keyid[:12]}, revoked since {revoked}, and made after ({made})"
    return None


def statement_ids(store: Store, kind: str) -> list[str]:
    """The ids of every stored statement of one kind: what a cached decision that
    reads them (a pipeline's promotion) is keyed by."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(statements_table.c.id)
            .where(statements_table.c.kind == kind)
            .order_by(statements_table.c.id)
        ).scalars()
        return list(rows)


def _all_envelopes(store: Store) -> list[tuple[str, dict[str, Any]]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(statements_table.c.id, statements_table.c.envelope_json).order_by(
                statements_table.c.created_at
            )
        ).all()
    return [(sid, json.loads(text)) for sid, text in rows]


def _verdict_sides(envelope: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The runs a verdict statement names (unverified: for lookup)."""
    try:
        statement = payload_of(envelope)
    except StatementError:
        return []
    predicate = statement.get("predicate") or {}
    if statement.get("predicateType") != predicate_type("verdict"):
        return []
    return [predicate[side] for side in ("run", "baseline") if predicate.get(side)]


def check_bundle_evidence(bundle: dict[str, Any], trust: TrustRoot | None) -> list[str]:
    """What is wrong with a bundle's evidence (nothing: []).

    Every ``attest`` record's statement is in the bundle and is the one the
    record names (its id is the digest of its payload); with a trust root, the
    rules verify version by version and every statement is signed by a key of
    their keyrings; every signed verdict's runs are bundled with records whose
    digest is the one the verdict signed.
    """
    from finegate.harness.registry.trust import verified_rules

    evidence = bundle.get("evidence") or {}
    statements: dict[str, Any] = evidence.get("statements") or {}
    problems = []
    for record in bundle["records"]:
        if not str(record["action"]).startswith("attest:"):
            continue
        sid = str(record["payload"].get("statement", ""))
        envelope = statements.get(sid)
        if envelope is None:
            problems.append(f"record {record['seq']}: statement {sid[:12]} is not in the bundle")
        elif statement_id(envelope) != sid:
            problems.append(f"record {record['seq']}: the bundled statement {sid[:12]} is another")
    if trust is not None:
        versions = [(int(r["version"]), r["envelope"]) for r in evidence.get("rules") or []]
        try:
            chain = verified_rules(versions, trust, where="in the bundle")
        except RulesError as e:
            return [*problems, str(e)]
        keys = {k.keyid: k for rules in chain for k in rules.keyring.keys(roles=None)}
        newest = chain[-1].keyring if chain else None
        for sid, envelope in statements.items():
            try:
                verified = verify(envelope, keys.values(), 1)
            except StatementError as e:
                problems.append(f"statement {sid[:12]}: {e}")
                continue
            late = _revoked_signers(verified, newest)
            if late:
                problems.append(f"statement {sid[:12]}: {late}")
    runs = evidence.get("runs") or {}
    for sid, envelope in statements.items():
        for side in _verdict_sides(envelope):
            bundled = runs.get(side.get("id"))
            if bundled is None:
                problems.append(f"verdict {sid[:12]}: run {side.get('id')} is not in the bundle")
            elif digest_of_records(bundled.get("records") or []) != side.get("records_sha256"):
                problems.append(
                    f"verdict {sid[:12]}: the bundled records of run {side.get('id')} are not "
                    "the ones it signed"
                )
    return problems
