"""The audit chain detects every kind of tampering."""

import json

import pytest

from finegate.harness import Store
from finegate.harness import registry as audit

from ...audit_attacks import raw_sql


@pytest.fixture
def chain(store_url):
    store = Store(store_url)
    for i in range(5):
        with store.transaction() as conn:
            audit.append(
                conn,
                action="approve",
                actor=f"person-{i}",
                subject="triage:1",
                payload={"reason": f"reason {i}"},
                artifacts={"model": "ab" * 32},
            )
    return store, store_url


def _sql(location, statement, *args):
    raw_sql(location, statement, *args)


def test_an_untouched_chain_verifies(chain):
    store, _ = chain
    result = audit.verify(store)
    assert result.ok and result.records == 5 and result.head == audit.records(store)[-1]["hash"]
    first = audit.records(store)[0]
    assert first["prev_hash"] == audit.GENESIS and first["hash"] == audit.record_hash(first)


def test_an_edited_record_is_named(chain):
    store, path = chain
    _sql(path, "UPDATE audit_log SET payload_json=? WHERE seq=3", json.dumps({"reason": "forged"}))
    result = audit.verify(store)
    assert (
        not result.ok and result.broken_seq == 3 and "changed after it was written" in result.reason
    )


def test_a_deleted_record_is_named(chain):
    store, path = chain
    _sql(path, "DELETE FROM audit_log WHERE seq=2")
    result = audit.verify(store)
    assert not result.ok and result.broken_seq == 3


def test_an_inserted_record_is_named(chain):
    store, path = chain
    _sql(path, "UPDATE audit_log SET seq = -(seq + 1) WHERE seq >= 3")  # make room, keep hashes
    _sql(path, "UPDATE audit_log SET seq = -seq WHERE seq < 0")
    records = audit.records(store)
    fake = {
        "seq": 3,
        "created_at": records[1]["created_at"],
        "action": "approve",
        "actor": "mallory",
        "subject": "triage:1",
        "payload": {},
        "artifacts": {},
        "prev_hash": records[1]["hash"],
    }
    fake["hash"] = audit.record_hash(fake)
    _sql(
        path,
        "INSERT INTO audit_log VALUES (?,?,?,?,?,?,?,?,?)",
        3,
        fake["created_at"],
        "approve",
        "mallory",
        "triage:1",
        "{}",
        "{}",
        fake["prev_hash"],
        fake["hash"],
    )
    result = audit.verify(store)
    assert not result.ok and result.broken_seq == 4  # the real record after the forgery


def test_reordered_records_are_named(chain):
    store, path = chain
    _sql(path, "UPDATE audit_log SET seq = -1 WHERE seq = 2")
    _sql(path, "UPDATE audit_log SET seq = 2 WHERE seq = 4")
    _sql(path, "UPDATE audit_log SET seq = 4 WHERE seq = -1")
    result = audit.verify(store)
    assert not result.ok and result.broken_seq == 2


def test_an_exported_bundle_verifies_elsewhere(chain, tmp_path):
    from .test_transparency_log import note_signer

    store, _ = chain
    private, key = note_signer("ci")
    note = audit.audit.signed_checkpoint(store, private.sign, key)
    path = tmp_path / "bundle.json"
    audit.audit.export_bundle(store, path, checkpoint=note, evidence={"note": "evidence here"})
    bundle = audit.audit.read_bundle(path)
    assert audit.audit.verify_bundle_log(bundle, [key], where="b").ok
    data = json.loads(path.read_text())
    data["records"][1]["actor"] = "someone else"
    broken = audit.audit.verify_bundle_log(data, [key], where="b")
    assert not broken.ok and broken.broken_seq == 2
    for record in data["records"][1:]:  # re-hashed: the chain verifies, the checkpoint does not
        record["prev_hash"] = data["records"][record["seq"] - 2]["hash"]
        record["hash"] = audit.record_hash(record)
    assert audit.verify_chain(data["records"]).ok
    rehashed = audit.audit.verify_bundle_log(data, [key], where="b")
    assert not rehashed.ok and "another root" in rehashed.reason
