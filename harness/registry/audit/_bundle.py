"""Audit bundles: the chain, its verification, a signed head and the evidence the
records refer to, in one JSON file a reviewer verifies offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, atomic_write_text, read_json_file
from finegate.harness.registry.audit._log import GENESIS, Verification, records, verify_chain
from finegate.harness.registry.audit._signing import verify_against_head, verify_signature
from finegate.harness.store import Store, now_iso

BUNDLE_FORMAT = "finegate-audit-bundle/1"


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
    bundle = read_json_file(path, what="audit bundle")
    fmt = bundle.get("format") if isinstance(bundle, dict) else None
    if fmt != BUNDLE_FORMAT:
        raise InputError(f"{path}: format is {fmt!r}, expected {BUNDLE_FORMAT}")
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
