"""Someone with write access to the database rewrites the audit log after a
promotion; no alias moves again until the log extends every kept checkpoint.

The attacker works through sqlite3 and recomputes every hash, so the chain
alone verifies; the checkpoint the promotion kept outside the store does not
let it pass.
"""

from __future__ import annotations

import sqlite3

import pytest

from finegate.harness.registry import records, verify_chain

from ..audit_attacks import append_rules_record, rewrite_log


def _promoted(release):
    runs, ci = release.runs, ["--key", release.key("ci")]
    release.cli("registry", "register", "triage", "--run", runs.good, *ci, trust=False)
    release.cli("approve", "triage:1", "--key", release.key("ana"), "--reason", "read it")
    gate = ["gate", "--policy", release.policy, "--baseline", runs.baseline]
    release.cli(*gate, "--run", runs.good, *ci)
    code, out = release.cli("promote", "triage:1", "--to", "production", *ci)
    assert code == 0 and "checked against 0 kept checkpoint(s)" in out, out
    assert len(list(release.checkpoints.glob("*.checkpoint"))) == 1


def _promote_again(release):
    return release.cli("promote", "triage:1", "--to", "production", "--key", release.key("ci"))


def _rewrite(chain):
    forged = [dict(r) for r in chain]
    verdict = next(r for r in forged if r["action"] == "verdict")
    verdict["actor"] = "someone else"
    return forged


ATTACKS = {
    "rewrite and re-hash": _rewrite,
    "delete every record": lambda chain: [],
    "delete the tail": lambda chain: chain[:-3],
    "reorder": lambda chain: [chain[1], chain[0], *chain[2:]],
}


def test_an_untouched_log_promotes_again_and_keeps_a_newer_checkpoint(release):
    _promoted(release)
    code, out = _promote_again(release)
    assert code == 0 and "checked against 1 kept checkpoint(s)" in out
    assert len(list(release.checkpoints.glob("*.checkpoint"))) == 2


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_no_alias_moves_on_a_rewritten_log(release, attack):
    _promoted(release)
    rewrite_log(release.runs.store_path, ATTACKS[attack](records(release.runs.store)))
    assert verify_chain(records(release.runs.store)).ok  # the chain alone is fooled
    code, out = _promote_again(release)
    assert code == 1 and "the audit log does not extend the checkpoint" in out
    code, out = release.cli("audit", "verify", "--checkpoints", release.checkpoints)
    assert code == 1 and "BROKEN  " + str(release.checkpoints) in out


def test_a_partly_edited_log_stops_promotion_too(release):
    _promoted(release)
    with sqlite3.connect(release.runs.store_path) as conn:
        conn.execute("UPDATE audit_log SET actor = 'someone else' WHERE seq = 3")
    code, out = _promote_again(release)
    assert code == 1 and "the audit log is broken at record 3" in out


def test_a_checkpoint_forged_into_the_folder_does_not_count(release, tmp_path):
    """An attacker who can also write the folder, but holds no key of the keyring,
    signs a checkpoint of the rewritten log with a key of their own."""
    from finegate.harness.registry import keep_checkpoint
    from finegate.harness.registry.trust import create_key, load_signer

    _promoted(release)
    rewrite_log(release.runs.store_path, _rewrite(records(release.runs.store)))
    private, _ = create_key(tmp_path / "mallory", "mallory")
    keep_checkpoint(release.runs.store, load_signer(private), release.checkpoints)
    code, out = release.cli("audit", "verify", "--checkpoints", release.checkpoints)
    assert code == 1 and "signed by no trusted key; not counted" in out
    code, out = _promote_again(release)
    assert code == 1 and "does not extend the checkpoint" in out


def test_promotion_without_a_checkpoint_folder_is_refused(release, monkeypatch):
    monkeypatch.delenv("FINEGATE_CHECKPOINTS")
    code, out = _promote_again(release)
    assert code == 2 and "--checkpoints: no checkpoint folder" in out


def test_removing_the_newest_rules_version_is_found(release):
    """Version 2 of the rules holds triage@production to a stricter baseline; the
    attacker deletes its row (not its audit record) to fall back to version 1."""
    from .conftest import rules_text

    _promoted(release)
    code, out = release.rules(rules_text(f"{{run: {release.runs.good}}}"))
    assert code == 0, out
    with sqlite3.connect(release.runs.store_path) as conn:
        conn.execute("DELETE FROM release_rules WHERE version = 2")
    code, out = _promote_again(release)
    assert code == 2 and "the audit log records release rules version 2" in out
    assert "the store holds version 1: a newer version was removed" in out


def test_an_appended_record_does_not_roll_the_rules_back(release):
    """Version 2 revokes the CI key. The attacker deletes it and appends an audit
    record naming version 1 (appending extends every checkpoint), so that version
    1 looks newest and the revoked key signs again."""
    from finegate.harness.registry.trust import current_rules, load_trust_root, rules_digest
    from finegate.harness.store import Store

    from .conftest import rules_text

    _promoted(release)
    store = Store(release.runs.store_path)
    first = current_rules(store, load_trust_root(release.trust))
    since = "2026-01-01T00:00:00+00:00"
    spec = rules_text(f"{{run: {release.runs.baseline}}}").replace(
        "rules:\n", f"  revoked:\n    - {{key: keys/ci.pub.json, since: '{since}'}}\nrules:\n"
    )
    assert release.rules(spec)[0] == 0
    with sqlite3.connect(release.runs.store_path) as conn:
        conn.execute("DELETE FROM release_rules WHERE version = 2")
    append_rules_record(store, 1, rules_digest(first))
    code, out = release.cli("audit", "verify", "--checkpoints", release.checkpoints)
    assert "ok      " + str(release.checkpoints) in out  # the log itself only grew
    code, out = _promote_again(release)
    assert code == 2 and "the audit log records release rules version 2" in out
