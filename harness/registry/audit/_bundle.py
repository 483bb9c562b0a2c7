"""Audit bundles: the log, a signed checkpoint of it and the evidence its
records refer to, in one JSON file a reviewer verifies offline.

This module checks the log part (the chain, and that the checkpoint's root is
the root of the bundled records); the registry checks the evidence (statements,
run records) against what the records and signed statements say of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, Problem, atomic_write_text, read_json_file
from finegate.harness.registry.audit._log import Verification, records, verify_chain
from finegate.harness.registry.audit._merkle import root_of
from finegate.harness.registry.audit._note import NoteKey
from finegate.harness.registry.audit._tlog import leaves_of, log_origin, read_checkpoint
from finegate.harness.store import Store, now_iso

BUNDLE_FORMAT = "finegate-audit-bundle/2"


def export_bundle(
    store: Store,
    path: str | Path,
    *,
    checkpoint: str | None = None,
    evidence: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One JSON file: the log, its verification, a signed checkpoint (a note) and
    the evidence the records refer to."""
    chain = records(store)
    bundle = {
        "format": BUNDLE_FORMAT,
        "exported_at": now_iso(),
        "origin": log_origin(store),
        "records": chain,
        "verification": verify_chain(chain).to_dict(),
        "checkpoint": checkpoint,
        "evidence": evidence or {},
    }
    atomic_write_text(path, json.dumps(bundle, indent=2, sort_keys=True, default=str) + "\n")
    return bundle


def read_bundle(path: str | Path) -> dict[str, Any]:
    bundle = read_json_file(path, what="audit bundle")
    fmt = bundle.get("format") if isinstance(bundle, dict) else None
    if fmt != BUNDLE_FORMAT:
        raise InputError(Problem(f"format is {fmt!r}, expected {BUNDLE_FORMAT}", file=str(path)))
    if not isinstance(bundle.get("records"), list):
        raise InputError(Problem("the bundle holds no list of records", file=str(path)))
    return bundle


def verify_bundle_log(
    bundle: dict[str, Any], keys: list[NoteKey] | None, *, where: str
) -> Verification:
    """The bundled chain verifies and, where keys are given, a checkpoint signed by
    one of them covers exactly the bundled records."""
    chain = bundle["records"]
    result = verify_chain(chain)
    if not result.ok or keys is None:
        return result
    note = bundle.get("checkpoint")
    if not note:
        return Verification(
            False, len(chain), result.head, None, "the bundle holds no signed checkpoint"
        )
    checkpoint, _ = read_checkpoint(str(note), keys, where=f"{where}: checkpoint")
    if checkpoint.origin != bundle.get("origin"):
        return Verification(
            False, len(chain), result.head, None, "the checkpoint is of another log"
        )
    if checkpoint.size != len(chain) or root_of(leaves_of(chain)) != checkpoint.root:
        return Verification(
            False,
            len(chain),
            result.head,
            None,
            f"the signed checkpoint covers {checkpoint.size} records with another root than "
            f"the {len(chain)} bundled",
        )
    return result
