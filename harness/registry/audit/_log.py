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
public key alone (``_signing``), and an exported bundle (``_bundle``) is verified
offline by a reviewer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from finegate.harness.core import sha256_json
from finegate.harness.store import Store, audit_table, now_iso, take_write_lock

GENESIS = "0" * 64


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
    """Append one record inside the caller's (write) transaction.

    Two writers that read the same last record would both append after it: the
    log would fork, or one would fail on the sequence number. So the append
    holds the store's write lock (taken again here for a connection that did
    not come from ``Store.transaction``; on PostgreSQL an advisory lock, held to
    commit or rollback, and gone with a killed writer's connection)."""
    take_write_lock(conn)
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
