"""The audit chain detects every kind of tampering."""

import json
import sqlite3

import pytest

from finegate.harness import Store
from finegate.harness import registry as audit


@pytest.fixture
def chain(tmp_path):
    store = Store(tmp_path / "fg.db")
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
    return store, tmp_path / "fg.db"


def _sql(path, statement, *args):
    with sqlite3.connect(path) as conn:
        conn.execute(statement, args)


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


def test_a_signed_head_catches_records_cut_off_the_end(chain, tmp_path):
    store, path = chain
    audit.generate_key(tmp_path / "key.pem", tmp_path / "key.pub")
    signed = audit.sign_head(store, tmp_path / "key.pem")
    assert audit.verify_signature(signed, tmp_path / "key.pub")
    assert audit.verify_against_head(audit.records(store), signed).ok
    _sql(path, "DELETE FROM audit_log WHERE seq = 5")
    assert audit.verify(store).ok  # the chain alone cannot see a cut tail
    cut = audit.verify_against_head(audit.records(store), signed)
    assert not cut.ok and "cut off the end" in cut.reason
    other = tmp_path / "other"
    other.mkdir()
    audit.generate_key(other / "k.pem", other / "k.pub")
    assert not audit.verify_signature(signed, other / "k.pub")
    assert not audit.verify_signature({**signed, "seq": 4}, tmp_path / "key.pub")


def test_an_exported_bundle_verifies_elsewhere(chain, tmp_path):
    store, _ = chain
    audit.generate_key(tmp_path / "key.pem", tmp_path / "key.pub")
    signed = audit.sign_head(store, tmp_path / "key.pem")
    bundle = tmp_path / "bundle.json"
    audit.export_bundle(store, bundle, signed=signed, evidence={"note": "evidence here"})
    assert audit.verify_bundle(bundle, tmp_path / "key.pub").ok
    data = json.loads(bundle.read_text())
    data["records"][1]["actor"] = "someone else"
    bundle.write_text(json.dumps(data))
    broken = audit.verify_bundle(bundle, tmp_path / "key.pub")
    assert not broken.ok and broken.broken_seq == 2
