"""Model versions, aliases, approvals, verdict records, promotion and the audit log
(a transparency log with checkpoints kept outside the store: ``registry.audit``).

One base carries the bookkeeping both backends share (alias moves, audit
records); the embedded backend keeps everything in the results store, the MLflow
backend keeps versions and aliases in MLflow's registry. Promotion follows the
release rules (``registry.trust``) and counts only signed, re-checked evidence.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "ModelVersion": "_versions",
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
    "Recheck": "_promotion",
    "registration_of": "_acts",
    "audited_holder": "_acts",
    "alias_movers": "_acts",
    "roll_back_canary": "_promotion",
    "sign_monitor_verdict": "_acts",
    "blocking_failures": "_promotion",
    "rules_for": "_promotion",
    "verify_registry": "_check",
    "Finding": "_check",
    "Evidence": "_evidence",
    "records_digest": "_evidence",
    "digest_of_records": "_evidence",
    "bundle_evidence": "_evidence",
    "statement_ids": "_evidence",
    "check_bundle_evidence": "_evidence",
    "record_statement": "_evidence",
    "envelope_by_id": "_evidence",
    "verified_evidence": "_evidence",
    "open_evidence": "_evidence",
    "approvals_for": "_evidence",
    "sign_registration": "_acts",
    "sign_verdict": "_acts",
    "sign_approval": "_acts",
    "ActRefused": "_acts",
    "four_eyes": "_acts",
    "register_run": "_acts",
    "envelopes": "_evidence",
    "GENESIS": "audit._log",
    "Verification": "audit._log",
    "append": "audit._log",
    "records": "audit._log",
    "record_hash": "audit._log",
    "verify_chain": "audit._log",
    "verify": "audit._log",
    "head": "audit._log",
    "CHECKPOINTS_ENV": "_transparency",
    "LogRewritten": "_transparency",
    "Held": "_transparency",
    "checkpoint_folder": "_transparency",
    "note_keys": "_transparency",
    "keep_checkpoint": "_transparency",
    "checkpoint_note": "_transparency",
    "check_held": "_transparency",
    "require_extends": "_transparency",
    "register_step": "_steps",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
