"""Writers that share only the store's URL: their audit records never interleave,
and one killed mid-transaction leaves nothing half-written.

Each test runs on a SQLite file and on a real PostgreSQL server. The writers are
separate processes, as CI jobs on different machines would be: nothing is
shared between them but the database.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from finegate.harness import Store
from finegate.harness import registry as audit
from finegate.harness.registry import SQLiteRegistry

WRITER = textwrap.dedent(
    """
    import sys, time
    from finegate.harness import Store
    from finegate.harness import registry as audit

    store, name, count = Store(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    for i in range(count):
        with store.transaction() as conn:
            audit.append(conn, action="approve", actor=name, subject="triage:1",
                         payload={"n": i})
            time.sleep(0.01)  # a slow action: another writer's append is due meanwhile
    """
)

REGISTRAR = textwrap.dedent(
    """
    import sys
    from finegate.harness import Store
    from finegate.harness.registry import SQLiteRegistry

    registry, name = SQLiteRegistry(Store(sys.argv[1])), sys.argv[2]
    for i in range(int(sys.argv[3])):
        registry.register("triage", fingerprint=f"{name}-{i}", source=None, lineage={},
                          actor=name)
    """
)

KILLED = textwrap.dedent(
    """
    import sys, time
    from finegate.harness import Store
    from finegate.harness import registry as audit

    store = Store(sys.argv[1])
    with store.transaction() as conn:
        audit.append(conn, action="promote", actor="killed", subject="triage:1")
        print("appended", flush=True)
        time.sleep(120)
    """
)


def _append(store: Store, actor: str) -> dict:
    with store.transaction() as conn:
        return audit.append(conn, action="approve", actor=actor, subject="triage:1")


def _all_at_once(script: str, store_url: str, names: list[str], count: int) -> Store:
    """Run ``script`` in one process per name, all at once, on a created store."""
    Store(store_url).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, store_url, name, str(count)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    return Store(store_url)


def test_concurrent_writer_processes_append_one_after_another(store_url):
    store = _all_at_once(WRITER, store_url, [f"writer-{w}" for w in range(4)], 12)
    records = audit.records(store)
    assert [r["seq"] for r in records] == list(range(1, 49))
    for w in range(4):  # each writer's records in its own order, none lost
        mine = [r["payload"]["n"] for r in records if r["actor"] == f"writer-{w}"]
        assert mine == list(range(12))
    result = audit.verify(store)
    assert result.ok and result.records == 48


def test_concurrent_registrations_get_distinct_versions(store_url):
    """Each registration reads the latest version and writes the next: two
    registrars must not both read the same one."""
    store = _all_at_once(REGISTRAR, store_url, [f"ci-{w}" for w in range(3)], 6)
    versions = SQLiteRegistry(store).versions("triage")
    assert sorted(v.version for v in versions) == list(range(1, 19))
    assert len({v.fingerprint for v in versions}) == 18
    assert audit.verify(store).ok and audit.verify(store).records == 18


def test_a_writer_killed_mid_transaction_leaves_nothing_and_blocks_no_one(store_url):
    store = Store(store_url)
    _append(store, "before")
    killed = subprocess.Popen(
        [sys.executable, "-c", KILLED, store_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert killed.stdout.readline().strip() == "appended"
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
    after = _append(store, "after")  # the killed writer's lock is gone with it
    records = audit.records(store)
    assert [(r["seq"], r["actor"]) for r in records] == [(1, "before"), (2, "after")]
    assert after["prev_hash"] == records[0]["hash"]
    assert audit.verify(store).ok
