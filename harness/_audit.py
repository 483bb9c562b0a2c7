"""The audit log: append-only records, each holding the hash of the one before.

Every verdict, registration, approval, promotion and rollback appends one
record, in the same database transaction as the action itself, so there is
never an action without its record or a record without its action. A record's
hash covers its sequence number, time, action, actor, subject, payload, the
hashes of the artifacts it speaks of, and the previous record's hash. Editing,
deleting, inserting or reordering any record breaks the chain at that record;
``verify`` names the first one that does not fit. Cutting records off the end
leaves a shorter valid chain, which only a head recorded elsewhere exposes: so
the head can be signed with an Ed25519 key (``sign_head``) and checked with the
public key alone, and ``export`` writes a bundle a reviewer verifies offline.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from finegate.harness._atomic import atomic_write_text
from finegate.harness._errors import InputError
from finegate.harness._hashing import sha256_json
from finegate.harness._store import Store, audit_table, now_iso

GENESIS = "0" * 64
BUNDLE_FORMAT = "finegate-audit-bundle/1"


def record_hash(record: dict[str, Any]) -> str:
    return sha256_json(
        {
            k: record[k]
            for k in (
                "seq",
                "created_at",
                "action",
                "actor",
                "subject",
                "payload",
                "artifacts",
                "prev_hash",
            )
        }
    )


def append(
    conn: Connection,
    *,
    action: str,
    actor: str,
    subject: str,
    payload: dict[str, Any] | None = None,
    artifacts: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Append one record inside the caller's (write) transaction."""
    last = conn.execute(
        select(audit_table.c.seq, audit_table.c.hash).order_by(audit_table.c.seq.desc()).limit(1)
    ).first()
    record = {
        "seq": (last[0] + 1) if last else 1,
        "created_at": now_iso(),
        "action": action,
        "actor": actor,
        "subject": subject,
        "payload": payload or {},
        "artifacts": artifacts or {},
        "prev_hash": last[1] if last else GENESIS,
    }
    record["hash"] = record_hash(record)
    conn.execute(
        audit_table.insert().values(
            seq=record["seq"],
            created_at=record["created_at"],
            action=action,
            actor=actor,
            subject=subject,
            payload_json=json.dumps(record["payload"], sort_keys=True, default=str),
            artifacts_json=json.dumps(record["artifacts"], sort_keys=True),
            prev_hash=record["prev_hash"],
            hash=record["hash"],
        )
    )
    return record


def records(store: Store, subject: str | None = None) -> list[dict[str, Any]]:
    query = select(audit_table).order_by(audit_table.c.seq)
    if subject is not None:
        query = query.where(audit_table.c.subject == subject)
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        {
            "seq": r["seq"],
            "created_at": r["created_at"],
            "action": r["action"],
            "actor": r["actor"],
            "subject": r["subject"],
            "payload": json.loads(r["payload_json"]),
            "artifacts": json.loads(r["artifacts_json"]),
            "prev_hash": r["prev_hash"],
            "hash": r["hash"],
        }
        for r in rows
    ]


@dataclass(frozen=True)
class Verification:
    ok: bool
    records: int
    head: str
    broken_seq: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify_chain(chain: list[dict[str, Any]]) -> Verification:
    """Check every link; name the first record that does not fit."""
    prev = GENESIS
    for position, record in enumerate(chain, start=1):
        if record["seq"] != position:
            return Verification(
                False,
                len(chain),
                prev,
                record["seq"],
                f"record {record['seq']} stands where record {position} should "
                "(a record was deleted, inserted or moved)",
            )
        if record["prev_hash"] != prev:
            return Verification(
                False,
                len(chain),
                prev,
                record["seq"],
                f"record {record['seq']} does not follow the record before it "
                "(a record was deleted, inserted or moved)",
            )
        if record_hash(record) != record["hash"]:
            return Verification(
                False,
                len(chain),
                prev,
                record["seq"],
                f"record {record['seq']} was changed after it was written",
            )
        prev = record["hash"]
    return Verification(True, len(chain), prev)


def verify(store: Store) -> Verification:
    return verify_chain(records(store))


def head(store: Store) -> tuple[int, str]:
    with store.engine.connect() as conn:
        row = conn.execute(select(func.max(audit_table.c.seq))).scalar()
        if not row:
            return 0, GENESIS
        h = conn.execute(select(audit_table.c.hash).where(audit_table.c.seq == row)).scalar_one()
    return int(row), str(h)


# -- signing ----------------------------------------------------------------------------


def generate_key(private_path: str | Path, public_path: str | Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    atomic_write_text(
        private_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )
    atomic_write_text(
        public_path,
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    )


def _head_message(seq: int, head_hash: str) -> bytes:
    return f"finegate-audit-head:{seq}:{head_hash}".encode()


def sign_head(store: Store, private_key: str | Path) -> dict[str, Any]:
    """A signature over the chain's current head (sequence number and hash)."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(Path(private_key).read_bytes(), password=None)
    except (OSError, ValueError) as e:
        raise InputError(f"{private_key}: not an Ed25519 private key in PEM ({e})") from None
    seq, head_hash = head(store)
    signature = key.sign(_head_message(seq, head_hash))  # type: ignore[union-attr, call-arg]
    return {
        "seq": seq,
        "head": head_hash,
        "algorithm": "ed25519",
        "signature": base64.b64encode(signature).decode(),
    }


def verify_signature(signed: dict[str, Any], public_key: str | Path) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_public_key(Path(public_key).read_bytes())
    except (OSError, ValueError) as e:
        raise InputError(f"{public_key}: not an Ed25519 public key in PEM ({e})") from None
    try:
        key.verify(
            base64.b64decode(signed["signature"]),  # type: ignore[union-attr, call-arg]
            _head_message(int(signed["seq"]), str(signed["head"])),
        )
    except (InvalidSignature, KeyError, ValueError):
        return False
    return True


def verify_against_head(chain: list[dict[str, Any]], signed: dict[str, Any]) -> Verification:
    """The chain verifies and still contains the signed head at its place: records
    cut off the end since the signature are detected too."""
    result = verify_chain(chain)
    if not result.ok:
        return result
    seq = int(signed["seq"])
    if seq > len(chain):
        return Verification(
            False,
            len(chain),
            result.head,
            len(chain) + 1,
            f"the signed head is record {seq}, but the chain ends at "
            f"{len(chain)}: records were cut off the end",
        )
    if seq and chain[seq - 1]["hash"] != signed["head"]:
        return Verification(
            False, len(chain), result.head, seq, f"record {seq} is not the record that was signed"
        )
    return result


# -- export ------------------------------------------------------------------------------


def export_bundle(
    store: Store,
    path: str | Path,
    *,
    signed: dict[str, Any] | None = None,
    evidence: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One JSON file: the chain, its verification, the signed head and the evidence
    (verdicts, runs' metrics, manifests) the records refer to."""
    chain = records(store)
    bundle = {
        "format": BUNDLE_FORMAT,
        "exported_at": now_iso(),
        "records": chain,
        "verification": verify_chain(chain).to_dict(),
        "signed_head": signed,
        "evidence": evidence or {},
    }
    atomic_write_text(path, json.dumps(bundle, indent=2, sort_keys=True, default=str) + "\n")
    return bundle


def verify_bundle(path: str | Path, public_key: str | Path | None = None) -> Verification:
    try:
        bundle = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not an audit bundle ({e})") from None
    if bundle.get("format") != BUNDLE_FORMAT:
        raise InputError(f"{path}: format is {bundle.get('format')!r}, expected {BUNDLE_FORMAT}")
    chain = bundle["records"]
    signed = bundle.get("signed_head")
    if public_key is not None:
        if not signed:
            return Verification(False, len(chain), GENESIS, None, "the bundle has no signed head")
        if not verify_signature(signed, public_key):
            return Verification(
                False,
                len(chain),
                GENESIS,
                None,
                "the head's signature does not match the public key",
            )
        return verify_against_head(chain, signed)
    return verify_chain(chain)
