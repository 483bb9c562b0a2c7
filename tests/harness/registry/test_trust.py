"""Keys, statements, the trust root and the chain of release rules."""

from __future__ import annotations

import json
import os

import pytest

from finegate.harness.core import InputError
from finegate.harness.registry.trust import (
    RulesError,
    StatementError,
    add_signature,
    create_key,
    current_rules,
    load_public_key,
    load_signer,
    load_trust_root,
    make_statement,
    rules_statement,
    sign,
    statement_id,
    store_rules,
    verify,
    write_trust_root,
)
from finegate.harness.registry.trust._rules import Keyring, ReleaseRules, rules_digest
from finegate.harness.store import Store


def test_a_private_key_is_for_its_owner_only(tmp_path):
    private, public = create_key(tmp_path, "ana")
    assert oct(os.stat(private).st_mode & 0o777) == "0o600"
    assert load_signer(private).public_key.keyid == load_public_key(public).keyid
    with pytest.raises(InputError, match="a key of this name exists"):
        create_key(tmp_path, "ana")
    os.chmod(private, 0o644)
    with pytest.raises(InputError, match=r"readable by others \(mode 644\)") as caught:
        load_signer(private)
    assert caught.value.hint == f"chmod 600 {private}"


def test_a_statement_verifies_only_as_signed(tmp_path):
    ana, bob = (load_signer(create_key(tmp_path, n)[0]) for n in ("ana", "bob"))
    statement = make_statement("approval", {"fingerprint": "f" * 64}, {"reason": "ok"})
    envelope = sign(statement, [ana])
    verified = verify(envelope, [ana.public_key])
    assert verified.kind == "approval" and verified.digests == {"fingerprint": "f" * 64}
    assert verified.keyids == (ana.public_key.keyid,)
    with pytest.raises(StatementError, match="do not verify"):
        verify(envelope, [bob.public_key])
    both = add_signature(envelope, bob)
    assert statement_id(both) == statement_id(envelope)  # a signature more, the same statement
    assert set(verify(both, [ana.public_key, bob.public_key], 2).keyids) == {
        ana.public_key.keyid,
        bob.public_key.keyid,
    }
    with pytest.raises(StatementError, match="do not verify"):
        verify(envelope, [ana.public_key, bob.public_key], 2)
    forged = dict(envelope, payloadType="text/plain")
    with pytest.raises(StatementError, match="payload type"):
        verify(forged, [ana.public_key])


def test_the_trust_root_is_named_or_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("FINEGATE_TRUST_ROOT", raising=False)
    with pytest.raises(InputError, match="no trust root") as caught:
        load_trust_root(None)
    assert "FINEGATE_TRUST_ROOT" in caught.value.hint
    (tmp_path / "x.json").write_text('{"format": "other"}')
    with pytest.raises(InputError, match="not a trust root"):
        load_trust_root(tmp_path / "x.json")
    _, public = create_key(tmp_path, "root")
    with pytest.raises(InputError, match="threshold 2 is not between 1 and 1"):
        write_trust_root(tmp_path / "t.json", [load_public_key(public)], 2)
    write_trust_root(tmp_path / "t.json", [load_public_key(public)], 1)
    monkeypatch.setenv("FINEGATE_TRUST_ROOT", str(tmp_path / "t.json"))
    assert load_trust_root(None).threshold == 1


def _rules(version: int, previous: ReleaseRules | None) -> ReleaseRules:
    return ReleaseRules(
        version=version,
        previous=rules_digest(previous) if previous else None,
        created_at=f"2026-12-0{version}T00:00:00+00:00",
        keyring=Keyring(people={}),
        rules=[],
    )


def test_rules_versions_chain_and_verify_against_the_root(tmp_path, store_url):
    root_key, root_pub = create_key(tmp_path, "root")
    trust = write_trust_root(tmp_path / "t.json", [load_public_key(root_pub)], 1)
    store = Store(store_url)
    root = load_signer(root_key)
    first = _rules(1, None)
    store_rules(store, sign(rules_statement(first), [root]), trust, actor="ops")
    with pytest.raises(RulesError, match="version 3; the next is 2"):
        store_rules(store, sign(rules_statement(_rules(3, first)), [root]), trust, actor="ops")
    with pytest.raises(RulesError, match="do not name the current ones"):
        store_rules(store, sign(rules_statement(_rules(2, None)), [root]), trust, actor="ops")
    second = _rules(2, first)
    store_rules(store, sign(rules_statement(second), [root]), trust, actor="ops")
    assert current_rules(store, trust).version == 2
    with store.engine.begin() as conn:  # a version taken out of the chain
        conn.exec_driver_sql("DELETE FROM release_rules WHERE version = 1")
    with pytest.raises(RulesError, match="versions are not 1, 2, 3"):
        current_rules(store, trust)


def test_a_statement_kind_is_checked(tmp_path, store_url):
    key, public = create_key(tmp_path, "root")
    trust = write_trust_root(tmp_path / "t.json", [load_public_key(public)], 1)
    store = Store(store_url)
    approval = make_statement("approval", {"rules": "0" * 64}, json.loads('{"version": 1}'))
    with pytest.raises(RulesError, match="a statement of kind 'approval', not release rules"):
        store_rules(store, sign(approval, [load_signer(key)]), trust, actor="ops")
