"""The audit log: append-only records in a hash chain and the leaves of an RFC
9162 Merkle tree, signed checkpoints (C2SP notes) kept outside the store,
inclusion and consistency proofs, and bundles a reviewer verifies offline."""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "GENESIS": "_log",
    "Verification": "_log",
    "append": "_log",
    "records": "_log",
    "record_hash": "_log",
    "verify_chain": "_log",
    "verify": "_log",
    "head": "_log",
    "EMPTY_ROOT": "_merkle",
    "leaf_hash": "_merkle",
    "node_hash": "_merkle",
    "root_of": "_merkle",
    "inclusion_proof": "_merkle",
    "consistency_proof": "_merkle",
    "verify_inclusion": "_merkle",
    "verify_consistency": "_merkle",
    "Checkpoint": "_note",
    "NoteKey": "_note",
    "NoteError": "_note",
    "UnknownSigner": "_note",
    "note_key": "_note",
    "note_key_id": "_note",
    "sign_note": "_note",
    "open_note": "_note",
    "parse_checkpoint": "_note",
    "CHECKPOINT_SUFFIX": "_tlog",
    "PROOF_FORMAT": "_tlog",
    "Difference": "_tlog",
    "log_origin": "_tlog",
    "leaf_of": "_tlog",
    "leaves_of": "_tlog",
    "tree_head": "_tlog",
    "signed_checkpoint": "_tlog",
    "checkpoint_file": "_tlog",
    "held_checkpoints": "_tlog",
    "read_checkpoint": "_tlog",
    "first_difference": "_tlog",
    "verify_extends": "_tlog",
    "inclusion": "_tlog",
    "verify_inclusion_proof": "_tlog",
    "BUNDLE_FORMAT": "_bundle",
    "export_bundle": "_bundle",
    "read_bundle": "_bundle",
    "verify_bundle_log": "_bundle",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
