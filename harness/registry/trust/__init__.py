"""Keys, signed statements, the pinned root of trust and the release rules it signs.

Nothing here trusts the store: a statement counts for what its signature
covers, a key for what the root-signed keyring says of it.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "PublicKey": "_keys",
    "create_key": "_keys",
    "load_signer": "_keys",
    "load_public_key": "_keys",
    "StatementError": "_statements",
    "Verified": "_statements",
    "make_statement": "_statements",
    "sign": "_statements",
    "add_signature": "_statements",
    "verify": "_statements",
    "statement_id": "_statements",
    "payload_of": "_statements",
    "model_digests": "_statements",
    "digests_of": "_statements",
    "predicate_type": "_statements",
    "KINDS": "_statements",
    "TrustRoot": "_root",
    "load_trust_root": "_root",
    "write_trust_root": "_root",
    "TRUST_ROOT_ENV": "_root",
    "ReleaseRules": "_rules",
    "Rule": "_rules",
    "MonitorRule": "_rules",
    "Keyring": "_rules",
    "Person": "_rules",
    "KeyEntry": "_rules",
    "Revocation": "_rules",
    "PolicyPin": "_rules",
    "BaselineRule": "_rules",
    "rules_digest": "_rules",
    "rules_statement": "_rules",
    "current_rules": "_rules",
    "rules_envelopes": "_rules",
    "verified_rules": "_rules",
    "stored_rules": "_rules",
    "followed_rules": "_rules",
    "rules_chain": "_rules",
    "store_rules": "_rules",
    "RulesError": "_rules",
    "moment": "_rules",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
