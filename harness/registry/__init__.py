"""Model versions, aliases, approvals, verdict records, promotion and the audit log.

One base carries the bookkeeping both backends share (alias moves, audit
records); the embedded backend keeps everything in the results store, the MLflow
backend keeps versions and aliases in MLflow's registry.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "ModelVersion": "_versions",
    "MANIFEST_FILE": "_versions",
    "lineage_of": "_versions",
    "parse_ref": "_versions",
    "Registry": "_base",
    "RegistryBase": "_base",
    "SQLiteRegistry": "_sqlite",
    "open_registry": "_open",
    "record_verdict": "_verdicts",
    "PromotionRefused": "_promotion",
    "promote": "_promotion",
    "rollback": "_promotion",
    "required_approvers": "_promotion",
    "GENESIS": "_audit",
    "Verification": "_audit",
    "append": "_audit",
    "records": "_audit",
    "record_hash": "_audit",
    "verify_chain": "_audit",
    "verify": "_audit",
    "head": "_audit",
    "generate_key": "_signing",
    "sign_head": "_signing",
    "verify_signature": "_signing",
    "verify_against_head": "_signing",
    "BUNDLE_FORMAT": "_bundle",
    "export_bundle": "_bundle",
    "verify_bundle": "_bundle",
    "register_step": "_steps",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
