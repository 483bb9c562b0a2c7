"""Both registry backends behind one interface, against a real MLflow registry."""

import os
import subprocess
import sys
import textwrap

import pytest

from finegate.harness import InputError, Store
from finegate.harness import registry as audit
from finegate.harness.registry import SQLiteRegistry, open_registry, parse_ref


@pytest.fixture(params=["store", "store-postgresql", "mlflow", "mlflow-server"])
def registry(request, tmp_path):
    """The store's own registry on SQLite and on a real PostgreSQL server;
    MLflow's registry in its embedded SQLite store, and behind a real
    ``mlflow server`` (on PostgreSQL) with the finegate store on PostgreSQL."""
    if request.param in ("store-postgresql", "mlflow-server"):
        store = Store(request.getfixturevalue("postgres").new_database())
    else:
        store = Store(tmp_path / "fg.db")
    uri = {
        "mlflow": "mlflow:sqlite:///" + str(tmp_path / "mlflow.db"),
        "mlflow-server": lambda: "mlflow:" + request.getfixturevalue("mlflow_server").uri,
    }.get(request.param, "store")
    return open_registry(store, uri() if callable(uri) else uri), store


LINEAGE = {
    "base_model": "smollm2-135m-instruct",
    "adapter_sha256": "cd" * 32,
    "dp": {"epsilon": 7.9, "delta": 1e-4, "accountant": "prv"},
}


def test_versions_aliases_and_history(registry):
    reg, store = registry
    one = reg.register(
        "triage", fingerprint="a" * 64, source="/adapters/one", lineage=LINEAGE, actor="ci"
    )
    two = reg.register(
        "triage", fingerprint="b" * 64, source="/adapters/two", lineage=LINEAGE, actor="ci"
    )
    assert (one.version, two.version) == (1, 2)
    assert reg.get("triage").version == 2 and reg.get("triage:1").fingerprint == "a" * 64
    assert reg.get("triage:1").lineage["dp"]["epsilon"] == 7.9
    reg.set_alias("triage", "production", 1, actor="ana", reason="first release")
    reg.set_alias("triage", "production", 2, actor="ana", reason="better")
    assert reg.get("triage@production").version == 2
    reg.set_alias("triage", "production", 1, actor="bo", reason="incident 7", action="rollback")
    assert reg.get("triage@production").version == 1
    moves = [
        (e["version"], e["previous"], e["action"])
        for e in reg.alias_history("triage", "production")
    ]
    assert moves == [(1, None, "promote"), (2, 1, "promote"), (1, 2, "rollback")]
    actions = [r["action"] for r in audit.records(store)]
    assert actions == ["register", "register", "promote", "promote", "rollback"]
    assert audit.verify(store).ok
    with pytest.raises(InputError):
        reg.get("triage:9")
    with pytest.raises(InputError):
        reg.get("triage@staging")


def test_references_are_parsed_strictly():
    assert parse_ref("m:3") == ("m", 3, None)
    assert parse_ref("m@production") == ("m", None, "production")
    assert parse_ref("m") == ("m", None, None)
    with pytest.raises(InputError, match="expected NAME:NUMBER"):
        parse_ref("m:latest")


def test_a_kill_during_a_registry_write_changes_nothing(store_url):
    store_path = store_url
    reg = SQLiteRegistry(Store(store_path))
    reg.register("triage", fingerprint="a" * 64, source=None, lineage={}, actor="ci")
    before = (reg.versions(), audit.records(reg.store))
    script = textwrap.dedent(f"""
        import os, signal
        from finegate.harness.registry import _sqlite
        from finegate.harness.registry import SQLiteRegistry
        from finegate.harness.store import Store

        def die(*args, **kwargs):  # the version row is written; the process dies mid-transaction
            os.kill(os.getpid(), signal.SIGKILL)

        _sqlite.append = die
        SQLiteRegistry(Store({str(store_path)!r})).register(
            "triage", fingerprint="{"b" * 64}", source=None, lineage={{}}, actor="ci")
    """)
    proc = subprocess.run([sys.executable, "-c", script], env=os.environ.copy())
    assert proc.returncode == -9
    reg = SQLiteRegistry(Store(store_path))
    assert (reg.versions(), audit.records(reg.store)) == before
    assert audit.verify(reg.store).ok
