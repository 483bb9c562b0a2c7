"""Release rules and the keyring, as the root signed them.

The rules say, per model name and alias, which policy (by id, version and
content hash, its content carried along) a candidate's verdict must pass,
against which baseline, which roles may sign verdicts and promotions; the
keyring says whose keys are whose, which roles each person holds, and which
keys are revoked since when. Each version of the rules is a Statement signed by
the root (k of n), chained to the one before (version number and digest), and
stored with an audit record. Reading them back checks the chain of digests
and the newest version's signatures against the pinned trust root, so a row
edited, added or swapped in the store is found; a rotated root signs the next
version, which vouches for the history before it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from sqlalchemy import select

from finegate.harness.core import FinegateError, sha256_json
from finegate.harness.registry.audit import append, records
from finegate.harness.registry.trust._root import TrustRoot
from finegate.harness.registry.trust._statements import (
    StatementError,
    Verified,
    digests_of,
    make_statement,
    payload_of,
    statement_id,
    verify,
)
from finegate.harness.store import Store, now_iso, release_rules_table


class RulesError(FinegateError):
    """The release rules are missing, do not verify, or do not chain."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeyEntry(_Strict):
    keyid: str
    key: dict[str, Any]


class Person(_Strict):
    roles: list[str] = Field(default_factory=list)
    keys: list[KeyEntry] = Field(min_length=1)


class Revocation(_Strict):
    keyid: str
    since: str = Field(description="ISO time from which the key's signatures are refused")
    reason: str = ""

    @field_validator("since")
    @classmethod
    def _a_time(cls, value: str) -> str:
        return moment(value).isoformat()


def moment(text: str) -> datetime:
    """An ISO time (a date alone is its midnight), in UTC when it names no zone."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO time: {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class Keyring(_Strict):
    people: dict[str, Person]
    revoked: list[Revocation] = Field(default_factory=list)

    def person_of(self, keyid: str) -> str | None:
        return next(
            (name for name, p in self.people.items() if any(k.keyid == keyid for k in p.keys)),
            None,
        )

    def roles_of(self, person: str | None) -> list[str]:
        return list(self.people[person].roles) if person in self.people else []

    def revoked_since(self, keyid: str) -> str | None:
        return next((r.since for r in self.revoked if r.keyid == keyid), None)

    def keys(self, roles: list[str] | None = None) -> list[Any]:
        """The public keys of everyone (or of those holding one of ``roles``)."""
        from securesystemslib.signer import SSlibKey

        out = []
        for person in self.people.values():
            if roles is None or set(person.roles) & set(roles):
                out += [SSlibKey.from_dict(k.keyid, dict(k.key)) for k in person.keys]
        return out


class PolicyPin(_Strict):
    id: str
    version: str
    hash: str
    content: dict[str, Any]

    @model_validator(mode="after")
    def _content_is_the_hash(self) -> PolicyPin:
        if sha256_json(self.content) != self.hash:
            raise ValueError("the policy's content does not have the hash the rules name")
        return self

    def approver_roles(self) -> list[str]:
        roles: list[str] = []
        for gate in self.content.get("gates", []):
            if gate.get("check") == "approval":
                roles += [a for a in gate.get("approvers", []) if a not in roles]
        return roles


class BaselineRule(_Strict):
    """``alias``: the version now at that alias (``when_unset`` says what a first
    release compares with); ``run``: a pinned run; ``prompted_base``: a prompted
    run of the candidate's own base model."""

    alias: str | None = None
    run: str | None = None
    prompted_base: bool = False
    when_unset: Literal["refuse", "prompted_base"] = "refuse"

    @model_validator(mode="after")
    def _one(self) -> BaselineRule:
        if sum([self.alias is not None, self.run is not None, self.prompted_base]) != 1:
            raise ValueError("a baseline rule names exactly one of alias, run, prompted_base")
        return self


class MonitorRule(_Strict):
    """What a production monitor's signed verdict may do to this rule's alias.

    ``policy`` pins the policy whose ``monitor:`` section holds the monitor
    gates; ``signers`` are the roles whose keys may sign monitor verdicts and
    the emergency rollback; ``canary`` is the alias watched against this rule's
    alias. ``roll_back``: a failing monitor verdict lets a signer move the
    canary back to the version at this rule's alias, with no approval.
    ``required``: promoting a version to this rule's alias needs a passing
    monitor verdict of that version as the canary."""

    policy: PolicyPin
    signers: list[str] = Field(default_factory=lambda: ["monitor"], min_length=1)
    canary: str = "canary"
    roll_back: bool = True
    required: bool = True


class Rule(_Strict):
    model: str
    alias: str
    policy: PolicyPin
    baseline: BaselineRule
    verdict_signers: list[str] = Field(default_factory=lambda: ["ci"], min_length=1)
    promoters: list[str] = Field(default_factory=lambda: ["ci"], min_length=1)
    monitor: MonitorRule | None = None

    @model_validator(mode="after")
    def _canary_is_another_alias(self) -> Rule:
        if self.monitor is not None and self.monitor.canary == self.alias:
            raise ValueError(f"the monitor's canary alias is the rule's own alias {self.alias!r}")
        return self

    @model_serializer(mode="wrap")
    def _no_monitor_no_key(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A rule without a monitor dumps as it did before there were monitor
        rules, so the rules documents signed then keep their digests."""
        data = handler(self)
        if self.monitor is None:
            data.pop("monitor", None)
        return data


class ReleaseRules(_Strict):
    version: int = Field(ge=1)
    previous: str | None = None
    created_at: str
    keyring: Keyring
    rules: list[Rule]

    def rule_for(self, model: str, alias: str) -> Rule | None:
        return next((r for r in self.rules if r.model == model and r.alias == alias), None)


def rules_digest(rules: ReleaseRules) -> str:
    return sha256_json(rules.model_dump(mode="json"))


def rules_statement(rules: ReleaseRules) -> dict[str, Any]:
    """The statement the root signs: the rules document about its own digest."""
    return make_statement("rules", {"rules": rules_digest(rules)}, rules.model_dump(mode="json"))


def _rules_of(statement: dict[str, Any], where: str) -> ReleaseRules:
    kind = Verified(statement, ()).kind
    if kind != "rules":
        raise RulesError(f"{where}: a statement of kind {kind!r}, not release rules")
    try:
        rules = ReleaseRules.model_validate(dict(statement.get("predicate", {})))
    except ValidationError as e:
        raise RulesError(f"{where}: not valid release rules ({e.errors()[0]['msg']})") from None
    if digests_of(statement).get("rules") != rules_digest(rules):
        raise RulesError(f"{where}: the statement's subject is not these rules")
    return rules


def _open(envelope: dict[str, Any], trust: TrustRoot, where: str) -> tuple[ReleaseRules, Verified]:
    try:
        verified = verify(envelope, trust.key_objects(), trust.threshold)
    except StatementError as e:
        raise RulesError(
            f"{where}: {e} (root keys of {trust.path}, {trust.threshold} needed)"
        ) from None
    return _rules_of(verified.statement, where), verified


def rules_chain(envelopes: list[tuple[int, dict[str, Any]]], *, where: str) -> list[ReleaseRules]:
    """Every version as stored, each checked against the one before it (number
    and digest), signatures unchecked: a removed, swapped or forked version is
    an error. Only the newest must verify against today's trust root; it names
    the digest of the one before, and so on down, so a rotated root vouches for
    the history its predecessor signed."""
    chain: list[ReleaseRules] = []
    for number, (version, envelope) in enumerate(envelopes, start=1):
        at = f"release rules version {version} {where}"
        try:
            rules = _rules_of(payload_of(envelope), at)
        except StatementError as e:
            raise RulesError(f"{at}: {e}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise RulesError(f"{at}: not a release-rules statement ({e!r})") from None
        if rules.version != version or version != number:
            raise RulesError(f"{at}: versions are not 1, 2, 3...: a version was removed or swapped")
        expected = rules_digest(chain[-1]) if chain else None
        if rules.previous != expected:
            raise RulesError(f"{at}: does not follow version {version - 1}")
        chain.append(rules)
    return chain


def verified_rules(
    envelopes: list[tuple[int, dict[str, Any]]], trust: TrustRoot, *, where: str
) -> list[ReleaseRules]:
    """The chain of versions, its newest signed by the trust root (k of n)."""
    chain = rules_chain(envelopes, where=where)
    if chain:
        version, envelope = envelopes[-1]
        _open(envelope, trust, f"release rules version {version} {where}")
    return chain


def _check_against_log(chain: list[ReleaseRules], store: Store) -> None:
    """Every version the audit log recorded is stored, as recorded, and every
    stored version was recorded. The log only grows (its checkpoints are kept
    outside the store), so a record appended to make an older version look
    newest does not hide the newer one it recorded before."""
    where = store.location
    logged: dict[int, str] = {}
    for record in records(store, subject="release-rules"):
        try:
            version = int(record["payload"]["version"])
        except (KeyError, TypeError, ValueError):
            raise RulesError(
                f"an audit record of the release rules in {where} names no version"
            ) from None
        digest = str(record["artifacts"].get("rules"))
        if logged.setdefault(version, digest) != digest:
            raise RulesError(
                f"the audit log records two different texts of release rules version {version} "
                f"in {where}"
            )
    for version, digest in sorted(logged.items()):
        if version > len(chain):
            held = f"version {len(chain)}" if chain else "none"
            raise RulesError(
                f"the audit log records release rules version {version}, but the store holds "
                f"{held}: a newer version was removed from {where}"
            )
        if rules_digest(chain[version - 1]) != digest:
            raise RulesError(
                f"release rules version {version} in {where} is not the text the audit log "
                "recorded: the stored rules were rewritten"
            )
    unlogged = [r.version for r in chain if r.version not in logged]
    if unlogged:
        raise RulesError(
            f"release rules version {unlogged[0]} in {where} has no audit record: it was "
            "written outside finegate"
        )


def _stored(store: Store) -> tuple[list[ReleaseRules], list[tuple[int, dict[str, Any]]]]:
    """One read of the stored versions: the chain, checked against the audit log,
    and the envelopes it came from."""
    envelopes = rules_envelopes(store)
    chain = rules_chain(envelopes, where=f"in {store.location}")
    _check_against_log(chain, store)
    return chain, envelopes


def stored_rules(store: Store) -> ReleaseRules | None:
    """The newest version as stored, chained to the ones before and matching the
    audit log's records of the rules; its signatures unchecked."""
    chain, _ = _stored(store)
    return chain[-1] if chain else None


def current_rules(store: Store, trust: TrustRoot) -> ReleaseRules | None:
    """The newest release rules, chained to every version before, matching the
    audit log, and signed by the trust root."""
    chain, envelopes = _stored(store)
    if not chain:
        return None  # no rules: nothing is promoted
    newest = chain[-1]
    _open(envelopes[-1][1], trust, f"release rules version {newest.version} in {store.location}")
    return newest


def rules_envelopes(store: Store) -> list[tuple[int, dict[str, Any]]]:
    """Every stored version of the rules (unverified), oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(release_rules_table.c.version, release_rules_table.c.envelope_json).order_by(
                release_rules_table.c.version
            )
        ).all()
    out = []
    for version, text in rows:
        try:
            out.append((int(version), json.loads(text)))
        except (TypeError, ValueError):
            raise RulesError(
                f"release rules version {version} in {store.location} is not JSON"
            ) from None
    return out


def followed_rules(
    store: Store, trust: TrustRoot, previous_trust: TrustRoot | None
) -> ReleaseRules | None:
    """The version a new one follows: the current rules, or, after the root was
    rotated, the newest version as signed by the previous root. A newest version
    neither root signed is never followed: a row written into the store would
    otherwise become history the new root vouches for."""
    chain, envelopes = _stored(store)
    if not chain:
        return None
    newest, where = chain[-1], f"release rules version {chain[-1].version} in {store.location}"
    try:
        _open(envelopes[-1][1], trust, where)
    except RulesError as e:
        if previous_trust is None:
            raise RulesError(
                f"{e}; if the root was rotated, name the previous trust root "
                "(--previous-trust-root FILE) to sign the version that takes over"
            ) from None
        _open(envelopes[-1][1], previous_trust, f"{where} (the previous root)")
    return newest


def store_rules(
    store: Store,
    envelope: dict[str, Any],
    trust: TrustRoot,
    *,
    actor: str,
    previous_trust: TrustRoot | None = None,
) -> ReleaseRules:
    """Adopt a new version of the rules, signed by the root, with its audit record.
    It follows the current version, which the root (or, just after a rotation,
    the previous root) signed."""
    rules, verified = _open(envelope, trust, "the new release rules")
    current = followed_rules(store, trust, previous_trust)
    want = 1 if current is None else current.version + 1
    if rules.version != want:
        raise RulesError(f"the new release rules are version {rules.version}; the next is {want}")
    if rules.previous != (rules_digest(current) if current else None):
        raise RulesError("the new release rules do not name the current ones as 'previous'")
    with store.transaction() as conn:
        conn.execute(
            release_rules_table.insert().values(
                version=rules.version,
                created_at=now_iso(),
                envelope_json=json.dumps(envelope, sort_keys=True),
            )
        )
        append(
            conn,
            action="rules",
            actor=actor,
            subject="release-rules",
            payload={
                "version": rules.version,
                "signed_by": list(verified.keyids),
                "rules": [
                    f"{r.model}@{r.alias}: {r.policy.id} v{r.policy.version}" for r in rules.rules
                ],
            },
            artifacts={"rules": rules_digest(rules), "statement": statement_id(envelope)},
        )
    return rules
