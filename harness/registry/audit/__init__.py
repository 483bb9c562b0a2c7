"""The audit log: append-only records in a hash chain, signed heads, bundles."""

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
    "generate_key": "_signing",
    "sign_head": "_signing",
    "verify_signature": "_signing",
    "verify_against_head": "_signing",
    "BUNDLE_FORMAT": "_bundle",
    "export_bundle": "_bundle",
    "verify_bundle": "_bundle",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
