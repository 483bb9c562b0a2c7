"""The audit log as a transparency log: its records are the leaves of an RFC 9162
Merkle tree, and signed checkpoints of the tree are kept outside the store.

Why a tree and not only the hash chain: whoever can write to the database can
edit a record and re-hash every record after it, or delete them all, and the
chain still verifies. A checkpoint (origin, size, root) signed and written to
a folder the user keeps elsewhere pins the log as it was; a later log must
hold the same first ``size`` records, which a consistency proof shows without
either side trusting the other. A record's leaf is its record hash (the chain
hash a log of an older finegate already holds), so an existing log becomes a
tree without rewriting a record.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from finegate.harness.core import InputError, Problem, atomic_write_text
from finegate.harness.registry.audit._log import Verification, record_hash, records
from finegate.harness.registry.audit._merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from finegate.harness.registry.audit._note import (
    Checkpoint,
    NoteError,
    NoteKey,
    open_note,
    parse_checkpoint,
    sign_note,
)
from finegate.harness.store import LOG_ORIGIN_KEY, Store, meta_table

CHECKPOINT_SUFFIX = ".checkpoint"
PROOF_FORMAT = "finegate-inclusion-proof/1"


def log_origin(store: Store) -> str:
    with store.engine.connect() as conn:
        origin = conn.execute(
            select(meta_table.c.value).where(meta_table.c.key == LOG_ORIGIN_KEY)
        ).scalar()
    if not origin:
        raise InputError(Problem("the store names no audit log origin", file=store.location))
    return str(origin)


def leaf_of(record: dict[str, Any]) -> bytes:
    """A record's leaf hash, from its content (never from its stored hash)."""
    return leaf_hash(bytes.fromhex(record_hash(record)))


def leaves_of(chain: Sequence[dict[str, Any]]) -> list[bytes]:
    return [leaf_of(r) for r in chain]


def tree_head(store: Store) -> Checkpoint:
    leaves = leaves_of(records(store))
    return Checkpoint(log_origin(store), len(leaves), root_of(leaves))


def signed_checkpoint(store: Store, sign: Callable[[bytes], bytes], key: NoteKey) -> str:
    """The log's current head as a signed note."""
    return sign_note(tree_head(store).text(), sign, key)


def checkpoint_file(folder: str | Path, note: str) -> Path:
    """Keep a signed checkpoint in ``folder``, named by its size and root, never
    overwriting one already there."""
    cp = parse_checkpoint(note[: note.rfind("\n\n") + 1])
    name = f"{cp.size:010d}-{cp.root.hex()[:16]}{CHECKPOINT_SUFFIX}"
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        held = path.read_text("utf-8")
        if held.split("\n\n")[0] == note.split("\n\n")[0]:
            return path  # the same head, already held
    atomic_write_text(path, note)
    return path


def held_checkpoints(folder: str | Path) -> list[Path]:
    """The checkpoints kept in a folder, oldest (smallest) first; none before the
    first is kept (callers say how many they checked)."""
    p = Path(folder)
    if p.exists() and not p.is_dir():
        raise InputError(Problem("the checkpoint folder is not a folder", file=str(p)))
    return sorted(p.glob(f"*{CHECKPOINT_SUFFIX}")) if p.is_dir() else []


def read_checkpoint(text: str, keys: list[NoteKey], *, where: str) -> tuple[Checkpoint, list[str]]:
    """A checkpoint whose signature verifies with one of ``keys``, and its signers."""
    try:
        body, signers = open_note(text, keys)
        return parse_checkpoint(body), [k.name for k in signers]
    except NoteError as e:
        raise InputError(Problem(f"not a checkpoint this reader can trust: {e}", file=where)) from e


@dataclass(frozen=True)
class Difference:
    """The first record of a log that is not the record a checkpoint saw."""

    seq: int
    reason: str


def first_difference(
    chain: Sequence[dict[str, Any]], old: Sequence[dict[str, Any]]
) -> Difference | None:
    """Compare a log with an exported copy of its older self, record by record."""
    for position, before in enumerate(old, start=1):
        if position > len(chain):
            return Difference(position, f"record {position} ({before['action']}) was deleted")
        now = chain[position - 1]
        if leaf_of(now) != leaf_of(before):
            fields = [
                k
                for k in ("seq", "created_at", "action", "actor", "subject", "payload", "artifacts")
                if now.get(k) != before.get(k)
            ]
            changed = ", ".join(fields) if fields else "its link to the record before"
            return Difference(
                position, f"record {position} ({before['action']}) differs: {changed}"
            )
    return None


def verify_extends(
    chain: Sequence[dict[str, Any]],
    origin: str,
    checkpoint: Checkpoint,
    *,
    old: Sequence[dict[str, Any]] | None = None,
) -> Verification:
    """The log still holds, unchanged and in order, the records the checkpoint saw.

    A consistency proof from the checkpoint's size to the log's is built and
    checked as an outside verifier would; given the old log's exported records
    (``old``), the first record that differs is named.
    """
    leaves = leaves_of(chain)
    root = root_of(leaves).hex()
    if checkpoint.origin != origin:
        return Verification(
            False,
            len(chain),
            root,
            None,
            f"the checkpoint is of log {checkpoint.origin}, this store's log is {origin}",
        )
    if len(chain) < checkpoint.size:
        where = first_difference(chain, old) if old is not None else None
        return Verification(
            False,
            len(chain),
            root,
            where.seq if where else len(chain) + 1,
            f"the checkpoint saw {checkpoint.size} records and the log holds {len(chain)}: "
            "records were deleted" + (f"; {where.reason}" if where else ""),
        )
    proof = consistency_proof(checkpoint.size, leaves) if checkpoint.size else []
    if verify_consistency(
        checkpoint.size, len(leaves), checkpoint.root, root_of(leaves), proof
    ) and all(record_hash(r) == r["hash"] for r in chain):
        return Verification(True, len(chain), root)
    if old is not None:
        if root_of(leaves_of(old[: checkpoint.size])) != checkpoint.root:
            return Verification(
                False,
                len(chain),
                root,
                None,
                "the log does not extend the checkpoint, and the exported copy given to "
                "compare is not the log the checkpoint saw either",
            )
        where = first_difference(chain, old[: checkpoint.size])
        if where is not None:
            return Verification(
                False, len(chain), root, where.seq, f"{where.reason} since the checkpoint"
            )
    bad = next((r["seq"] for r in chain if record_hash(r) != r["hash"]), None)
    return Verification(
        False,
        len(chain),
        root,
        bad,
        f"the log's first {checkpoint.size} records are not the ones the checkpoint saw: "
        "records were rewritten, reordered or deleted"
        + ("" if old is not None else " (give an export of the older log to name the first)"),
    )


def inclusion(
    chain: Sequence[dict[str, Any]], seq: int, note: str, checkpoint: Checkpoint
) -> dict[str, Any]:
    """Everything an outsider needs to check that record ``seq`` is in the log the
    signed checkpoint names: the record, its index, the audit path, the note."""
    if not 1 <= seq <= checkpoint.size:
        raise InputError(
            Problem(f"record {seq} is not in the checkpoint's {checkpoint.size} records")
        )
    leaves = leaves_of(chain[: checkpoint.size])
    return {
        "format": PROOF_FORMAT,
        "record": chain[seq - 1],
        "leaf_index": seq - 1,
        "tree_size": checkpoint.size,
        "audit_path": [base64.b64encode(h).decode() for h in inclusion_proof(seq - 1, leaves)],
        "checkpoint": note,
    }


def verify_inclusion_proof(
    proof: dict[str, Any], keys: list[NoteKey], *, where: str
) -> tuple[Checkpoint, dict[str, Any]]:
    """The checkpoint (signed by one of ``keys``) and the record it proves is in it."""
    if not isinstance(proof, dict) or proof.get("format") != PROOF_FORMAT:
        raise InputError(Problem(f"not an inclusion proof ({PROOF_FORMAT})", file=where))
    checkpoint, _ = read_checkpoint(str(proof.get("checkpoint", "")), keys, where=where)
    record = proof.get("record")
    try:
        index, size = int(proof["leaf_index"]), int(proof["tree_size"])
        path = [base64.b64decode(h, validate=True) for h in proof["audit_path"]]
        leaf = leaf_of(record)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(Problem(f"a malformed inclusion proof ({e})", file=where)) from None
    if size != checkpoint.size or not verify_inclusion(index, size, leaf, path, checkpoint.root):
        raise InputError(
            Problem(
                f"record {index + 1} is not in the log of {checkpoint.size} records the "
                "checkpoint signs",
                file=where,
            )
        )
    return checkpoint, record  # type: ignore[return-value]
