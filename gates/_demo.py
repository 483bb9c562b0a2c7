"""The demo's root of trust, keys and release rules, kept in its work folder.

A real team keeps the root key offline and the trust root file in its
repository; the demo keeps both beside its adapters so that one command shows
the whole path: a root key signs the release rules (the ``demo`` policy for
``support-triage@staging``, against the prompted base model), a CI key signs
registrations, verdicts and promotions, and promotion follows the rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

RULES_SPEC = """\
# The demo's release rules: the CI key signs verdicts and promotions; a candidate
# goes to staging only on a passing, re-checked verdict of the demo policy against
# a prompted run of its own base model.
keyring:
  people:
    ci: {roles: [ci], keys: [keys/ci.pub.json]}
rules:
  - model: support-triage
    alias: staging
    policy: demo
    baseline: {prompted_base: true}
    verdict_signers: [ci]
    promoters: [ci]
"""


def _same(a: Any, b: Any) -> bool:
    """The same keyring and rules, whatever their version and time."""

    def content(rules: Any) -> dict[str, Any]:
        skip = {"version", "previous", "created_at"}
        return {k: v for k, v in rules.model_dump(mode="json").items() if k not in skip}

    return content(a) == content(b)


def demo_trust(work: Path, store_url: str) -> tuple[Path, Path]:
    """The trust root file and the CI key, creating them and adopting the rules on
    first use (and again only if the rules the demo needs changed)."""
    from finegate.gates._rules_spec import compile_rules
    from finegate.harness.registry.trust import (
        create_key,
        current_rules,
        load_public_key,
        load_signer,
        load_trust_root,
        rules_statement,
        sign,
        store_rules,
        write_trust_root,
    )
    from finegate.harness.store import Store, now_iso

    keys = work / "keys"
    for name in ("root", "ci"):
        if not (keys / f"{name}.key").exists():
            create_key(keys, name)
    trust_path = work / "trust-root.json"
    if not trust_path.exists():
        write_trust_root(trust_path, [load_public_key(keys / "root.pub.json")], 1)
    spec = work / "release-rules.yaml"
    spec.write_text(RULES_SPEC)
    trust = load_trust_root(trust_path)
    store = Store(store_url)
    current = current_rules(store, trust)
    wanted = compile_rules(spec, current, now_iso())
    if current is None or not _same(current, wanted):
        envelope = sign(rules_statement(wanted), [load_signer(keys / "root.key")])
        store_rules(store, envelope, trust, actor="finegate demo")
    return trust_path, keys / "ci.key"
