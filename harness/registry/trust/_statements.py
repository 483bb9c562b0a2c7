"""Signed evidence: in-toto Statements (v1) in DSSE envelopes.

Every act that decides a release (a registration, a verdict, an approval, a
promotion or rollback, a change of the release rules) is a Statement whose
subject is the model's digests (its fingerprint, and the SHA-256 of its weights
and adapter files) and whose predicate says what was decided. securesystemslib
builds and verifies the envelopes (its DSSE pre-authentication encoding, its
Ed25519 signers), so a statement verifies with any DSSE tool, not only this one.

A statement read back from the store is trusted for what its signature covers
and nothing else: who signed it is looked up in the keyring, never read from a
table row or a tag.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from finegate.harness.core import FinegateError, sha256_text
from finegate.harness.system import innermost

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_BASE = "https://finegate.dev/attestation/"
KINDS = (
    "registration",
    "verdict",
    "approval",
    "promotion",
    "rollback",
    "rules",
    "monitor-verdict",
)


class StatementError(FinegateError):
    """An envelope that does not verify, or a statement that is not finegate's."""


def predicate_type(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown statement kind {kind!r}")
    return f"{PREDICATE_BASE}{kind}/v1"


def model_digests(system: Mapping[str, Any]) -> dict[str, str]:
    """What names a model in a statement: its fingerprint, and the digests of its
    weights and adapter files, from a run's system description."""
    inner = innermost(dict(system))
    out = {"fingerprint": str(system["fingerprint"])}
    for key, name in (("weights_hash", "weights"), ("adapter_hash", "adapter")):
        if inner.get(key):
            out[name] = str(inner[key])
    return out


def subjects(digests: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {"name": f"finegate/{name}", "digest": {"sha256": value}}
        for name, value in sorted(digests.items())
    ]


def digests_of(statement: Mapping[str, Any]) -> dict[str, str]:
    """The model digests a statement is about (the inverse of ``subjects``)."""
    out = {}
    for s in statement.get("subject", []):
        name = str(s.get("name", ""))
        if name.startswith("finegate/") and "sha256" in s.get("digest", {}):
            out[name.removeprefix("finegate/")] = str(s["digest"]["sha256"])
    return out


def make_statement(
    kind: str, digests: Mapping[str, str], predicate: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects(digests),
        "predicateType": predicate_type(kind),
        "predicate": dict(predicate),
    }


def sign(statement: Mapping[str, Any], signers: Sequence[Any]) -> dict[str, Any]:
    """A DSSE envelope over ``statement``, signed by every signer given."""
    from securesystemslib.dsse import Envelope

    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    envelope = Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
    for signer in signers:
        envelope.sign(signer)
    return dict(envelope.to_dict())


def _envelope(data: Mapping[str, Any]) -> Any:
    """securesystemslib's Envelope from a dict, without touching the dict (its
    ``from_dict`` rewrites the signatures it is given in place)."""
    from securesystemslib.dsse import Envelope

    return Envelope.from_dict(copy.deepcopy(dict(data)))


def add_signature(envelope: Mapping[str, Any], signer: Any) -> dict[str, Any]:
    """The same envelope with one more signature (k-of-n signing)."""
    opened = _envelope(envelope)
    opened.sign(signer)
    return dict(opened.to_dict())


def statement_id(envelope: Mapping[str, Any]) -> str:
    """A statement's id: the SHA-256 of its payload (signatures added later keep it)."""
    return sha256_text(str(envelope.get("payload", "")))


def payload_of(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The statement inside an envelope, unverified (for display and lookup only)."""
    try:
        statement = json.loads(base64.b64decode(envelope["payload"]))
    except (KeyError, TypeError, ValueError) as e:
        raise StatementError(f"not a DSSE envelope ({e})") from None
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise StatementError("the envelope does not hold an in-toto Statement v1")
    return statement


@dataclass(frozen=True)
class Verified:
    """A statement whose envelope verified, and the key ids whose signatures did."""

    statement: dict[str, Any]
    keyids: tuple[str, ...]

    @property
    def kind(self) -> str:
        return str(self.statement["predicateType"]).removeprefix(PREDICATE_BASE).split("/")[0]

    @property
    def predicate(self) -> dict[str, Any]:
        return dict(self.statement.get("predicate", {}))

    @property
    def digests(self) -> dict[str, str]:
        return digests_of(self.statement)


def verify(envelope: Mapping[str, Any], keys: Iterable[Any], threshold: int = 1) -> Verified:
    """Check ``threshold`` distinct signatures of ``keys`` over the envelope;
    ``StatementError`` says why not."""
    from securesystemslib.exceptions import VerificationError

    keys = list(keys)
    if not str(payload_of(envelope).get("predicateType", "")).startswith(PREDICATE_BASE):
        raise StatementError("the statement is not a finegate attestation")
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise StatementError(f"payload type {envelope.get('payloadType')!r} is not {PAYLOAD_TYPE}")
    if not keys:
        raise StatementError("no key may sign this statement")
    try:
        accepted = _envelope(envelope).verify(keys, threshold)
    except VerificationError as e:
        raise StatementError(f"the signatures do not verify: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise StatementError(f"not a DSSE envelope ({e})") from None
    return Verified(payload_of(envelope), tuple(sorted(accepted)))
