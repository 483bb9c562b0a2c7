"""The results store refuses what it cannot safely use, and never touches it.

Tests that take ``store_url`` run twice: on a SQLite file and on a fresh
database of a real PostgreSQL server the test session starts."""

import sqlite3

import pytest
from sqlalchemy import create_engine, inspect, text

from finegate.harness import InputError, MetricValue, Store, StoreError
from finegate.harness.store import SCHEMA_VERSION


def _run(store: Store, key: str = "k") -> str:
    return store.create_run(
        run_key=key,
        label="lbl",
        kind="eval",
        system={"name": "sys", "fingerprint": "f" * 64},
        suites=[{"id": "s", "hash": "h"}],
        environment={"seed": 0},
        options={"seed": 0},
    )


def _sql(location: str, statement: str, **params) -> list[tuple]:
    """Raw SQL on a store, as someone with the database's credentials runs it."""
    url = location if "://" in location else f"sqlite:///{location}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _columns(location: str, table: str) -> set[str]:
    url = location if "://" in location else f"sqlite:///{location}"
    engine = create_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_round_trip_of_runs_records_metrics_and_cache(store_url):
    store = Store(store_url)
    run_id = _run(store)
    assert store.find_unfinished("k") == run_id
    store.add_records(
        run_id,
        [
            {
                "suite_id": "s",
                "suite_hash": "h",
                "case_id": "b",
                "position": 1,
                "request": {"p": 1},
                "output": {"text": "B"},
                "scores": {"acc": 0.0},
            },
            {
                "suite_id": "s",
                "suite_hash": "h",
                "case_id": "a",
                "position": 0,
                "request": {"p": 0},
                "output": {"text": "A"},
                "scores": {"acc": 1.0},
            },
        ],
        [("key1", "generate", {"text": "A"})],
    )
    assert [r["case_id"] for r in store.records(run_id)] == ["a", "b"]  # suite order
    assert store.completed_case_ids(run_id, "s") == {"a", "b"}
    assert store.cached_responses(["key1", "nope"]) == {"key1": {"text": "A"}}
    metric = MetricValue("acc", 0.5, 2, 0.1, 0.9, 0.95, "wilson")
    store.save_metrics(run_id, "s", "h", [metric])
    store.finish_run(run_id, status="complete", timings={"total_s": 1.0})
    assert store.metrics(run_id) == {"s": [metric]}
    assert store.find_unfinished("k") is None
    info = store.get_run(run_id[:12])
    assert info["status"] == "complete" and info["label"] == "lbl"
    assert store.resolve_run_id("lbl") == run_id == store.resolve_run_id("latest")
    exported = store.export_run(run_id)
    assert exported["metrics"]["s"][0]["value"] == 0.5 and len(exported["records"]) == 2


def test_a_case_stored_twice_keeps_the_first_record(store_url):
    """Two processes that answer the same case (one shard run twice at once)
    both commit; the record stored first stays."""
    store = Store(store_url)
    run_id = _run(store)

    def record(text: str) -> dict:
        return {
            "suite_id": "s",
            "suite_hash": "h",
            "case_id": "a",
            "position": 0,
            "request": {},
            "output": {"text": text},
            "scores": {},
        }

    store.add_records(run_id, [record("first")], [("k", "generate", {"text": "first"})])
    store.add_records(run_id, [record("second")], [("k", "generate", {"text": "second"})])
    assert [r["output"]["text"] for r in store.records(run_id)] == ["first"]
    assert store.cached_responses(["k"]) == {"k": {"text": "first"}}


def test_unknown_run_is_an_input_error(store_url):
    store = Store(store_url)
    with pytest.raises(InputError, match="no run 'zzz'"):
        store.get_run("zzz")


def test_a_corrupt_file_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "fg.db"
    junk = b"this is not a database\n" * 100
    path.write_bytes(junk)
    with pytest.raises(StoreError, match="not a SQLite database"):
        Store(path)
    assert path.read_bytes() == junk


def test_a_damaged_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "fg.db"
    Store(path).close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # keep the header, wreck the schema page
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="cannot be opened"):
        Store(path)
    assert path.read_bytes() == bytes(data)


def test_a_newer_schema_is_refused_and_left_untouched(store_url):
    Store(store_url).close()
    _sql(
        store_url,
        "UPDATE finegate_meta SET value=:v WHERE key='schema_version'",
        v=str(SCHEMA_VERSION + 1),
    )
    before = _sql(store_url, "SELECT key, value FROM finegate_meta ORDER BY key")
    with pytest.raises(StoreError, match="newer than this finegate understands"):
        Store(store_url)
    assert _sql(store_url, "SELECT key, value FROM finegate_meta ORDER BY key") == before


def test_another_programs_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(StoreError, match="not a finegate store"):
        Store(path)


def test_missing_store_is_not_created_for_reading(tmp_path):
    with pytest.raises(InputError, match="store not found"):
        Store(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def test_wal_mode_is_on(tmp_path):
    store = Store(tmp_path / "fg.db")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_an_older_store_is_migrated_in_one_transaction(store_url, monkeypatch):
    from finegate.harness.store import _migrations as _store

    store = Store(store_url)
    run_id = _run(store)
    store.close()

    def add_owner_column(conn):
        conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN owner TEXT")

    def broken(conn):
        conn.exec_driver_sql("ALTER TABLE runs ADD COLUMN team TEXT")
        raise RuntimeError("migration bug")

    current = str(SCHEMA_VERSION)
    monkeypatch.setattr(_store, "SCHEMA_VERSION", SCHEMA_VERSION + 2)
    monkeypatch.setattr(
        _store, "MIGRATIONS", {SCHEMA_VERSION + 1: add_owner_column, SCHEMA_VERSION + 2: broken}
    )
    version = "SELECT value FROM finegate_meta WHERE key='schema_version'"
    with pytest.raises(RuntimeError, match="migration bug"):
        Store(store_url)
    # rolled back: same version, no new columns
    assert _sql(store_url, version) == [(current,)]
    assert not {"owner", "team"} & _columns(store_url, "runs")
    monkeypatch.setattr(_store, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setattr(_store, "MIGRATIONS", {SCHEMA_VERSION + 1: add_owner_column})
    migrated = Store(store_url)
    assert migrated.get_run(run_id)["id"] == run_id
    assert _sql(store_url, version) == [(str(SCHEMA_VERSION + 1),)]
    assert "owner" in _columns(store_url, "runs")


def test_a_version_1_store_is_migrated_to_the_current_schema(tmp_path):
    path = tmp_path / "fg.db"
    store = Store(path)
    run_id = _run(store)
    store.add_records(
        run_id,
        [
            {
                "suite_id": "s",
                "suite_hash": "h",
                "case_id": "a",
                "position": 0,
                "request": {},
                "output": {},
                "scores": {"acc": 1.0},
            }
        ],
    )
    store.close()
    with sqlite3.connect(path) as conn:  # what a version-1 store looked like
        conn.execute("ALTER TABLE records DROP COLUMN facts_json")
        for table in (
            "verdicts",
            "audit_log",
            "model_versions",
            "model_aliases",
            "model_alias_events",
            "model_approvals",
            "statements",
            "release_rules",
            "serve_requests",
            "serve_feedback",
        ):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM finegate_meta WHERE key != 'schema_version'")
        conn.execute("UPDATE finegate_meta SET value='1'")
    (record,) = Store(path).records(run_id)
    assert record["scores"] == {"acc": 1.0} and record["facts"] == {}
    with sqlite3.connect(path) as conn:
        meta = dict(conn.execute("SELECT key, value FROM finegate_meta").fetchall())
        assert meta["schema_version"] == str(SCHEMA_VERSION)
        assert meta["audit_log_origin"].startswith("finegate.audit/")
        assert conn.execute("SELECT count(*) FROM verdicts").fetchone() == (0,)


def test_two_writers_wait_for_each_other(store_url):
    from concurrent.futures import ThreadPoolExecutor

    path = store_url
    run_id = _run(Store(path))

    def write(worker: int) -> None:
        store = Store(path)  # its own engine, as another process would have
        for i in range(30):
            store.add_records(
                run_id,
                [
                    {
                        "suite_id": f"s{worker}",
                        "suite_hash": "h",
                        "case_id": str(i),
                        "position": i,
                        "request": {},
                        "output": {},
                        "scores": {},
                    }
                ],
                [(f"k{i}", "generate", {"text": str(i)})],
            )

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(write, [0, 1]))
    store = Store(path)
    assert len(store.records(run_id)) == 60 and store.cache_size() == 30


def test_privacy_runs_get_the_fingerprint_of_their_model_when_migrated(tmp_path):
    """A version-6 store: privacy runs fingerprinted after loading (dtype torch.float32)
    carry another fingerprint than the evaluation runs of the same model."""
    path = tmp_path / "fg.db"
    store = Store(path)
    inner = {"type": "hf", "model": "m", "weights_hash": "w", "dtype": "float32"}

    def system(fingerprint, inner_fingerprint):
        return {
            "type": "template",
            "fingerprint": fingerprint,
            "inner": {**inner, "fingerprint": inner_fingerprint},
        }

    def run(kind, key, described):
        return store.create_run(
            run_key=key,
            label=None,
            kind=kind,
            system=described,
            suites=[],
            environment={},
            options={},
        )

    evaluated = run("eval", "a", system("e" * 64, "i" * 64))
    measured = run("mia", "b", system("p" * 64, "q" * 64))
    other = run("exposure", "c", {**system("x" * 64, "y" * 64), "name": "another model"})
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE finegate_meta SET value='6' WHERE key='schema_version'")
    migrated = Store(path)
    assert migrated.get_run(measured)["fingerprint"] == "e" * 64
    assert migrated.get_run(measured)["system"]["inner"]["fingerprint"] == "i" * 64
    assert migrated.get_run(evaluated)["fingerprint"] == "e" * 64
    assert migrated.get_run(other)["fingerprint"] == "x" * 64  # no evaluation run to match
