"""The audit log as an RFC 9162 transparency log: hashes and proofs agree with the
RFC's definitions and Certificate Transparency's vectors, checkpoints are C2SP
notes Go's note package would sign byte for byte, and every way someone with
write access to the database rewrites the log fails against a kept checkpoint."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from finegate.harness import Store
from finegate.harness.core import InputError
from finegate.harness.registry import audit

from ...audit_attacks import raw_sql, rewrite_log

# -- an independent implementation, straight from RFC 9162 section 2.1 ------------------


def _h(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def _k(n: int) -> int:  # the largest power of two smaller than n
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return _h(b"")
    if len(d) == 1:
        return _h(b"\x00" + d[0])
    k = _k(len(d))
    return _h(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    return [*path(m, d[:k]), mth(d[k:])] if m < k else [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


# -- Certificate Transparency's reference leaves and tree heads --------------------------

CT_DATA = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_tree_heads_and_proofs_match_the_certificate_transparency_vectors():
    leaves = [audit.leaf_hash(bytes.fromhex(d)) for d in CT_DATA]
    assert [audit.root_of(leaves[:n]).hex() for n in range(9)] == CT_ROOTS
    assert [h.hex() for h in audit.inclusion_proof(0, leaves)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]
    assert [h.hex() for h in audit.inclusion_proof(5, leaves)] == [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]


def test_every_proof_is_the_rfc_definitions_and_verifies_only_when_true():
    for n in range(1, 34):
        data = [f"record {i}".encode() for i in range(n)]
        leaves = [audit.leaf_hash(d) for d in data]
        root = audit.root_of(leaves)
        assert root == mth(data)
        for i in range(n):
            proof = audit.inclusion_proof(i, leaves)
            assert proof == path(i, data)
            assert audit.verify_inclusion(i, n, leaves[i], proof, root)
            assert not audit.verify_inclusion(i, n, audit.leaf_hash(b"forged"), proof, root)
            if n > 1:  # the same path read as another leaf's
                assert not audit.verify_inclusion((i + 1) % n, n, leaves[i], proof, root)
        for m in range(1, n + 1):
            proof = audit.consistency_proof(m, leaves)
            assert proof == subproof(m, data, True)
            old = mth(data[:m])
            assert audit.verify_consistency(m, n, old, root, proof)
            if m < n:
                rewritten = mth([b"rewritten", *data[1:m]])
                assert not audit.verify_consistency(m, n, rewritten, root, proof)
                assert not audit.verify_consistency(m, n, old, mth(data[: n - 1]), proof)


# -- checkpoints are C2SP signed notes --------------------------------------------------

GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def note_signer(name: str, private: Ed25519PrivateKey | None = None):
    """A private key (a new one unless given) and its note key under ``name``."""
    private = private or Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return private, audit.NoteKey(name, audit.note_key_id(name, raw), raw)


def _go_key() -> tuple[Ed25519PrivateKey, audit.NoteKey]:
    return note_signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(GO_SEED))


def test_notes_are_signed_as_gos_note_package_signs_them():
    """The example of golang.org/x/mod/sumdb/note: its key, text and signed note."""
    private, key = _go_key()
    assert key.verifier == "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    assert audit.sign_note(GO_TEXT, private.sign, key) == GO_NOTE
    assert audit.open_note(GO_NOTE, [key]) == (GO_TEXT, [key])


def test_a_note_counts_only_with_a_good_signature_of_a_trusted_key():
    _, key = _go_key()
    _, stranger = note_signer("stranger")
    with pytest.raises(audit.UnknownSigner):
        audit.open_note(GO_NOTE, [stranger])
    with pytest.raises(audit.NoteError, match="does not verify"):
        audit.open_note(GO_NOTE.replace("problem,", "problem;"), [key])
    with pytest.raises(audit.NoteError, match="blank line"):
        audit.open_note(GO_TEXT, [key])
    assert audit.parse_checkpoint("log\n3\n" + base64.b64encode(b"\1" * 32).decode() + "\n")
    with pytest.raises(audit.NoteError, match="decimal"):
        audit.parse_checkpoint("log\n03\n" + base64.b64encode(b"\1" * 32).decode() + "\n")


# -- the store's log against a kept checkpoint, attacked through SQL --------------------


@pytest.fixture
def log(store_url):
    store = Store(store_url)
    for i in range(6):
        with store.transaction() as conn:
            audit.append(
                conn,
                action="verdict" if i % 2 else "approve",
                actor=f"person-{i}",
                subject="triage:1",
                payload={"status": "fail" if i == 3 else "pass"},
            )
    key, note_key = note_signer("ci")
    note = audit.signed_checkpoint(store, key.sign, note_key)
    checkpoint, signers = audit.read_checkpoint(note, [note_key], where="kept")
    assert signers == ["ci"]
    old = audit.records(store)
    return store, store_url, checkpoint, old


def _extends(store, checkpoint, old=None):
    return audit.verify_extends(audit.records(store), audit.log_origin(store), checkpoint, old=old)


def test_an_untouched_log_and_a_longer_one_extend_the_checkpoint(log):
    store, _, checkpoint, _ = log
    assert _extends(store, checkpoint).ok
    with store.transaction() as conn:
        audit.append(conn, action="promote", actor="ci", subject="triage@production")
    result = _extends(store, checkpoint)
    assert result.ok and result.records == 7


def test_a_rewritten_and_rehashed_record_fails_and_is_named(log):
    store, path, checkpoint, old = log
    forged = [dict(r) for r in old]
    forged[3]["payload"] = {"status": "pass"}  # the failing verdict, now passing
    rewrite_log(path, forged)
    assert audit.verify(store).ok  # the chain alone is fooled
    result = _extends(store, checkpoint)
    assert not result.ok and "rewritten, reordered or deleted" in result.reason
    named = _extends(store, checkpoint, old=old)
    assert not named.ok and named.broken_seq == 4 and "differs: payload" in named.reason


def test_a_reordered_log_fails_and_the_first_moved_record_is_named(log):
    store, path, checkpoint, old = log
    swapped = [old[0], old[3], old[2], old[1], old[4], old[5]]
    rewrite_log(path, swapped)
    assert audit.verify(store).ok
    named = _extends(store, checkpoint, old=old)
    assert not named.ok and named.broken_seq == 2


@pytest.mark.parametrize("kept", [0, 4])
def test_a_deleted_tail_or_an_emptied_log_fails(log, kept):
    store, path, checkpoint, old = log
    rewrite_log(path, old[:kept])
    assert audit.verify(store).ok  # 0 records, or 4, "intact"
    result = _extends(store, checkpoint, old=old)
    assert not result.ok and f"the log holds {kept}: records were deleted" in result.reason
    assert result.broken_seq == kept + 1


def test_a_deleted_middle_record_fails(log):
    store, path, checkpoint, old = log
    rewrite_log(path, old[:2] + old[3:])
    named = _extends(store, checkpoint, old=old)
    assert not named.ok and named.broken_seq == 3


def test_a_checkpoint_of_another_log_does_not_count(log):
    store, path, checkpoint, _ = log
    raw_sql(path, "UPDATE finegate_meta SET value='elsewhere' WHERE key='audit_log_origin'")
    result = _extends(store, checkpoint)
    assert not result.ok and "this store's log is elsewhere" in result.reason


def test_an_inclusion_proof_verifies_offline_and_only_for_its_record(log):
    store, _, checkpoint, _ = log
    key, note_key = note_signer("ci")
    note = audit.signed_checkpoint(store, key.sign, note_key)
    proof = audit.inclusion(audit.records(store), 4, note, checkpoint)
    proof = json.loads(json.dumps(proof))  # as read back from the file
    got, record = audit.verify_inclusion_proof(proof, [note_key], where="proof.json")
    assert got == checkpoint and record["seq"] == 4 and record["payload"] == {"status": "fail"}
    proof["record"]["payload"] = {"status": "pass"}
    with pytest.raises(InputError, match="record 4 is not in the log of 6"):
        audit.verify_inclusion_proof(proof, [note_key], where="proof.json")


def test_an_older_log_becomes_a_tree_with_its_hashes_as_leaves(tmp_path):
    """A store of the hash-chain era: its record hashes are the leaves, unchanged."""
    path = tmp_path / "old.db"
    store = Store(path)
    for i in range(3):
        with store.transaction() as conn:
            audit.append(conn, action="approve", actor=f"p{i}", subject="m:1")
    before = audit.records(store)
    store.engine.dispose()
    with sqlite3.connect(path) as conn:  # as a store of schema 5 has it: no log origin
        conn.execute("DELETE FROM finegate_meta WHERE key='audit_log_origin'")
        conn.execute("UPDATE finegate_meta SET value='5' WHERE key='schema_version'")
    reopened = Store(path)
    assert audit.records(reopened) == before
    assert audit.log_origin(reopened).startswith("finegate.audit/")
    head = audit.tree_head(reopened)
    leaves = [audit.leaf_hash(bytes.fromhex(r["hash"])) for r in before]
    assert head.size == 3 and head.root == audit.root_of(leaves)
