"""`finegate store migrate`: a SQLite store moved to a real PostgreSQL server
and back, row for row, with its audit log still verifying against a checkpoint
kept before the move."""

from __future__ import annotations

import json

from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from finegate.harness import MetricValue, Store
from finegate.harness.cli import cli
from finegate.harness.registry import SQLiteRegistry, audit
from finegate.harness.store import metadata


def _filled(path) -> Store:
    store = Store(path)
    run_id = store.create_run(
        run_key="k",
        label="baseline",
        kind="eval",
        system={"name": "sys", "fingerprint": "f" * 64},
        suites=[{"id": "s", "hash": "h"}],
        environment={},
        options={},
    )
    store.add_records(
        run_id,
        [
            {
                "suite_id": "s",
                "suite_hash": "h",
                "case_id": f"c{i}",
                "position": i,
                "request": {"prompt": f"p{i}"},
                "output": {"text": f"answer {i}"},
                "scores": {"acc": float(i % 2)},
            }
            for i in range(5)
        ],
        [(f"key{i}", "generate", {"text": f"answer {i}"}) for i in range(5)],
    )
    store.save_metrics(run_id, "s", "h", [MetricValue("acc", 0.4, 5, 0.1, 0.8, 0.95, "wilson")])
    store.finish_run(run_id, status="complete", timings={"total_s": 1.0})
    registry = SQLiteRegistry(store)
    for i in range(2):
        registry.register("triage", fingerprint=f"{i}" * 64, source=None, lineage={}, actor="ci")
    registry.set_alias("triage", "staging", 1, actor="ci", reason="first")
    registry.set_alias("triage", "staging", 2, actor="ci", reason="second")
    return store


def _tables(store: Store) -> dict[str, list[tuple]]:
    with store.engine.connect() as conn:
        return {
            t.name: sorted(tuple(r) for r in conn.execute(select(t)))
            for t in metadata.sorted_tables
        }


def _signed_checkpoint(store: Store):
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    note_key = audit.NoteKey("kept", audit.note_key_id("kept", raw), raw)
    note = audit.signed_checkpoint(store, key.sign, note_key)
    checkpoint, _ = audit.read_checkpoint(note, [note_key], where="kept")
    return checkpoint


def test_a_store_moves_to_postgresql_and_back_row_for_row(tmp_path, postgres):
    source = _filled(tmp_path / "fg.db")
    checkpoint = _signed_checkpoint(source)
    url = postgres.new_database()
    result = CliRunner().invoke(
        cli, ["store", "migrate", "--from", str(tmp_path / "fg.db"), "--to", url, "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["audit_log"]["ok"] and report["audit_log"]["same_tree_head"]
    assert report["rows"]["audit_log"] == 4 and report["rows"]["records"] == 5
    moved = Store(url)
    assert _tables(moved) == _tables(source)
    kept = audit.verify_extends(audit.records(moved), audit.log_origin(moved), checkpoint)
    assert kept.ok
    # the moved store goes on: new versions, alias moves (fresh ids after the copied ones)
    registry = SQLiteRegistry(moved)
    registry.register("triage", fingerprint="2" * 64, source=None, lineage={}, actor="ci")
    registry.set_alias("triage", "staging", 3, actor="ci", reason="third")
    assert registry.aliases("triage") == {"staging": 3} and audit.verify(moved).records == 6
    # and back to SQLite: the same rows again
    back = tmp_path / "back.db"
    result = CliRunner().invoke(cli, ["store", "migrate", "--from", url, "--to", str(back)])
    assert result.exit_code == 0, result.output
    assert "audit log on the target verifies: 6 records" in result.output
    assert _tables(Store(back)) == _tables(moved)


def test_a_store_is_moved_only_into_an_empty_one(tmp_path, postgres):
    _filled(tmp_path / "fg.db")
    url = postgres.new_database()
    occupied = Store(url)
    SQLiteRegistry(occupied).register(
        "other", fingerprint="9" * 64, source=None, lineage={}, actor="x"
    )
    before = _tables(occupied)
    result = CliRunner().invoke(
        cli, ["store", "migrate", "--from", str(tmp_path / "fg.db"), "--to", url]
    )
    assert result.exit_code == 2
    assert "the target store is not empty: audit_log (1 rows), model_versions (1 rows)" in (
        result.output
    )
    assert _tables(Store(url)) == before
