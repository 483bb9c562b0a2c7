"""``finegate view``: every page shows the store's real numbers, escapes what the
store holds, answers GET and HEAD on loopback only, and never writes the store."""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from finegate.gates import check_policy, load_policy
from finegate.harness import CallableSystem, RunOptions, Store, load_suite, run_suites
from finegate.harness.cli import cli
from finegate.harness.compare import compare_runs, save_comparison
from finegate.harness.core import InputError, StoreError
from finegate.harness.registry import SQLiteRegistry
from finegate.harness.store import SCHEMA_VERSION
from finegate.harness.view import Viewer, ViewerThread, check_host
from finegate.harness.view._charts import ChartRow, interval_chart
from tests.gates.conftest import SUITE, make_suite, rules, write_policy
from tests.harness.view import serve_rows

ARTIFACTS = Path(__file__).parents[3] / "test-artifacts"
WORKERS = 2  # chromium processes at once
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_LABEL = "<img src=x onerror=alert(2)>"
HOSTILE_ANSWER = "</div><script>alert(3)</script>"
HOSTILE_REASON = "<script>alert(4)</script> hotfix"
POLICY = (
    "  - {id: accuracy, suite: test/triage, metric: category.accuracy, min: 0.8}\n"
    "  - {id: not-worse, suite: test/triage, metric: category.accuracy, margin: 0.1}\n"
)


@dataclass(frozen=True)
class Stored:
    path: Path
    good: str  # accuracy 0.95 on test/triage (wrong on every 20th case)
    weak: str  # accuracy 0.5
    baseline: str  # accuracy 0.9
    hostile: str  # markup in its name, label and answers, on another suite
    comparison: str  # baseline vs good, stored as a run


def _hostile(prompt):
    return HOSTILE_ANSWER


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Stored:
    """A store as a team's would look: runs, a stored comparison, two verdicts,
    registered versions with alias moves (and so audit records), a request log
    with feedback, then closed."""
    folder = tmp_path_factory.mktemp("view")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINEGATE_HOME", str(folder / "home"))
        mp.delenv("FINEGATE_STORE", raising=False)
        suite = make_suite(folder / "suite")
        other_dir = folder / "other"
        shutil.copytree(folder / "suite", other_dir)
        (other_dir / "suite.yaml").write_text(SUITE.replace("test/triage", "test/other"))
        other = load_suite(other_dir)
        store = Store(folder / "fg.db")
        options = RunOptions(progress=False)
        good = run_suites(rules(20), [suite], store, options).run_id
        weak = run_suites(rules(2), [suite], store, options).run_id
        baseline = run_suites(rules(10), [suite], store, options).run_id
        hostile = run_suites(
            CallableSystem(_hostile, name=HOSTILE_NAME),
            [other],
            store,
            RunOptions(progress=False, label=HOSTILE_LABEL),
        ).run_id
        comparison = save_comparison(store, compare_runs(store, baseline, good))
        policy = load_policy(write_policy(folder / "policy.yaml", POLICY))
        check_policy(policy, store, good, baseline)
        check_policy(policy, store, weak, baseline)
        registry = SQLiteRegistry(store)
        for run in (good, weak):
            fingerprint = store.get_run(run)["fingerprint"]
            registry.register(
                "triage",
                fingerprint=fingerprint,
                source=None,
                lineage={"base_model": "rules"},
                actor="ci",
            )
        registry.set_alias("triage", "production", 1, actor="ana", reason="first release")
        registry.set_alias("triage", "production", 2, actor="ana", reason=HOSTILE_REASON)
        registry.set_alias(
            "triage", "production", 1, actor="bo", reason="accuracy dropped", action="rollback"
        )
        serve_rows.write(
            store,
            [
                serve_rows.request("req-1", 0, prompt=HOSTILE_LABEL, answer=HOSTILE_ANSWER),
                serve_rows.request("req-2", 1, version=2, alias="canary", text_form="raw"),
                serve_rows.request("req-3", 2, answer=None, status=500, error=HOSTILE_REASON),
            ],
            [serve_rows.feedback("req-1", "up", True)],
        )
        store.close()
    return Stored(folder / "fg.db", good, weak, baseline, hostile, comparison)


@pytest.fixture(scope="module")
def viewer(stored: Stored) -> Viewer:
    return Viewer(stored.path)


@pytest.fixture(scope="module")
def served(stored: Stored):
    with ViewerThread(stored.path) as url:
        yield url


@dataclass(frozen=True)
class Crawl:
    pages: dict[str, str]  # every page reachable from the index, by its link
    before: dict[str, tuple[str, int, int]]  # the store's folder before browsing
    after: dict[str, tuple[str, int, int]]  # and after


def _state(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Each file's digest, size and modification time."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.fixture(scope="module")
def crawled(stored: Stored, served: str) -> Crawl:
    """Every page reachable from the index over HTTP (each must answer 200), plus
    requests that fail, with the store's folder noted before and after."""
    before = _state(stored.path.parent)
    pages = {}
    queue = ["/"]
    while queue:
        target = queue.pop()
        status, _, body = fetch(served + target.lstrip("/"))
        assert status == 200, target
        pages[target] = body.decode()
        queue += [h for h in links(pages[target]) if h not in pages and h not in queue]
    for target in ("runs/nope", "compare?a=x&b=y", "audit?page=9", "registry?page=x"):
        fetch(served + target)
    fetch(served, "POST")
    fetch(served + "runs/" + stored.good, "DELETE")
    return Crawl(pages, before, _state(stored.path.parent))


def page(viewer: Viewer, target: str, status: int = 200) -> str:
    response = viewer.respond("GET", target, "127.0.0.1:8765")
    assert response.status == status, response.text
    return response.text


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy


def fetch(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with _opener.open(request, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def links(text: str) -> list[str]:
    """The viewer's own links in a page (fragments dropped), in order, once each."""
    found = [html.unescape(h).split("#")[0] for h in re.findall(r'href="(/[^"]*)"', text)]
    return list(dict.fromkeys(h for h in found if h))


def cells(row: str) -> list[str]:
    """A row's data cells, as the text a reader sees."""
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split())
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def rows_of(text: str, header: str) -> list[list[str]]:
    """The data cells of every row whose header cell reads ``header``."""
    tags = r"(?:<[^>]+>)*"
    found = re.findall(
        rf'<th scope="row">{tags}{re.escape(header)}{tags}</th>(.*?)</tr>', text, re.S
    )
    return [cells(row) for row in found]


def row_of(text: str, header: str) -> list[str]:
    found = rows_of(text, header)
    assert len(found) == 1, f"{len(found)} rows {header!r}"
    return found[0]


# -- what the pages show ----------------------------------------------------------------


def test_the_index_lists_runs_newest_first_with_their_cases(stored: Stored, viewer: Viewer):
    text = page(viewer, "/")
    order = [stored.comparison, stored.hostile, stored.baseline, stored.weak, stored.good]
    positions = [text.index(f'href="/runs/{run}"') for run in order]
    assert positions == sorted(positions)
    fingerprint = Store(stored.path, read_only=True).get_run(stored.good)["fingerprint"]
    assert row_of(text, stored.good)[1:] == [
        "eval",
        "complete",
        "",
        "rules-20",
        fingerprint[:12],
        "test/triage v1",
        "60",
    ]
    for target in ("/compare", "/verdicts", "/audit", "/registry", "/serving"):
        assert f'href="{target}"' in text
    assert "5 run(s), newest first" in text


def test_a_run_page_shows_each_metric_with_its_interval_and_n(stored: Stored, viewer: Viewer):
    text = page(viewer, f"/runs/{stored.good}")
    assert row_of(text, "category.accuracy") == [
        "0.9500",
        "[0.8630, 0.9829]",
        "60",
        "95%",
        "wilson",
    ]
    # the chart: one dot and whisker per rate, its numbers in words; latency stays out
    assert '<svg role="img"' in text
    assert "<title>category.accuracy 0.9500, 95% CI [0.8630, 0.9829], n=60</title>" in text
    assert "<title>latency " not in text
    # environment, the verdict on it, and its cases
    assert f'<th scope="row">python</th><td>{sys.version.split()[0]}</td>' in text
    assert "Verdicts on this run" in text and "✓ PASS" in text
    assert "cases 1–60 of 60" in text
    assert row_of(text, "t000")[:3] == ["test/triage", "user: request 0", "wrong"]


def test_cases_are_paged(stored: Stored):
    viewer = Viewer(stored.path, records_per_page=25)
    text = page(viewer, f"/runs/{stored.good}?page=3")
    assert "cases 51–60 of 60" in text and "page 3 of 3" in text
    assert "<code>t050</code>" in text and "<code>t059</code>" in text
    assert "<code>t049</code>" not in text
    assert f'href="/runs/{stored.good}?page=2"' in text
    assert "there is no page 4" in page(viewer, f"/runs/{stored.good}?page=4", 404)
    assert "not &#x27;two&#x27;" in page(viewer, f"/runs/{stored.good}?page=two", 400)
    page(viewer, f"/runs/{stored.good}?page=0", 400)


def test_a_comparison_is_computed_with_deltas_p_values_and_flipped_cases(
    stored: Stored, viewer: Viewer
):
    run_page = page(viewer, f"/runs/{stored.good}")
    offered = [h for h in links(run_page) if h.startswith("/compare?")]
    assert offered == [
        f"/compare?a={stored.baseline}&b={stored.good}",
        f"/compare?a={stored.weak}&b={stored.good}",
    ]  # runs sharing its suite version; not the run on another suite, not the comparison
    text = page(viewer, offered[0])
    # accuracy 0.90 -> 0.95: three cases flipped, all to right; McNemar's p = 2 * 0.5**3
    assert row_of(text, "category.accuracy")[:7] == [
        "0.9000",
        "0.9500",
        "+0.0500",
        "[0.0000, 0.1167]",
        "0.2500 mcnemar-exact",
        "60",
        "0 / 3",
    ]
    assert "Flipped cases (3)" in text
    for case in ("t010", "t030", "t050"):
        assert row_of(text, case)[:3] == [
            "test/triage",
            "category.accuracy",
            "▲ better",
        ]
    assert "<title>category.accuracy +0.0500, 95% CI [0.0000, 0.1167], n=60</title>" in text


def test_a_stored_comparison_links_the_runs_it_paired(stored: Stored, viewer: Viewer):
    text = page(viewer, f"/runs/{stored.comparison}")
    assert f'href="/runs/{stored.baseline}"' in text and f'href="/runs/{stored.good}"' in text
    assert row_of(text, "category.accuracy.delta")[:3] == ["0.0500", "[0.0000, 0.1167]", "60"]
    assert "Compare with…" not in text  # its records are differences, not answers


def test_runs_that_cannot_be_compared_get_a_clear_page(stored: Stored, viewer: Viewer):
    text = page(viewer, f"/compare?a={stored.good}&b={stored.hostile}", 400)
    assert "These runs cannot be compared" in text and "share no suite" in text
    assert "no run &#x27;nope&#x27;" in page(viewer, f"/compare?a=nope&b={stored.good}", 404)
    form = page(viewer, "/compare")
    assert '<form class="pick" method="get" action="/compare">' in form
    assert f'<option value="{stored.good}">' in form
    assert f'<option value="{stored.comparison}">' not in form


def test_the_verdicts_page_shows_each_gate(stored: Stored, viewer: Viewer):
    text = page(viewer, "/verdicts")
    assert "2 verdict(s), newest first." in text
    passed, failed = (
        text.index("✓ PASS</span> test-policy v1"),
        text.index("✗ FAIL</span> test-policy v1"),
    )
    assert failed < passed  # the weak run was gated last
    failed_gate, passed_gate = rows_of(text, "accuracy")
    assert passed_gate[:9] == [
        "threshold",
        "block",
        "✓ PASS",
        "test/triage category.accuracy",
        "0.9500",
        "[0.8630, 0.9829]",
        "60",
        ">= 0.8000",
        "n/a",
    ]
    assert failed_gate[2:7] == [
        "✗ FAIL",
        "test/triage category.accuracy",
        "0.5000",
        "[0.3774, 0.6226]",
        "60",
    ]
    assert rows_of(text, "not-worse")[1][7].startswith(">= -0.1000; margin 0.1000 (absolute)")
    assert f'href="/runs/{stored.weak}"' in text and f'href="/runs/{stored.baseline}"' in text


def test_the_audit_page_verifies_the_chain_and_names_a_changed_record(
    stored: Stored, viewer: Viewer, tmp_path: Path
):
    text = page(viewer, "/audit")
    # two verdicts, two registrations, three alias moves
    assert "✓ The audit chain verifies</b>: 7 record(s)" in text
    assert row_of(text, "2")[1:3] == ["verdict", "finegate"]
    copy = tmp_path / "tampered.db"
    shutil.copy(stored.path, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    conn.close()
    text = page(Viewer(copy), "/audit")
    assert "✗ The audit chain does not verify</b>: record 2 was changed after it was written" in (
        text
    )
    assert '<tr class="broken" id="record-2"><th scope="row">2 ✗</th>' in text
    assert "mallory" in text


def test_the_registry_page_shows_versions_aliases_and_their_history(stored: Stored, viewer: Viewer):
    text = page(viewer, "/registry")
    assert f'href="/runs/{stored.good}"' in text and f'href="/runs/{stored.weak}"' in text
    now, *history = rows_of(text, "triage@production")
    assert now[0] == "version 1"
    assert [move[1:] for move in history] == [
        ["rollback", "1", "2", "bo", "accuracy dropped"],
        ["promote", "2", "1", "ana", HOSTILE_REASON],
        ["promote", "1", "—", "ana", "first release"],
    ]


def test_store_text_is_escaped_on_every_page(stored: Stored, crawled: Crawl):
    texts = crawled.pages
    assert len(texts) >= 12
    for target, text in texts.items():
        assert "<script" not in text and "<img" not in text, target
    assert html.escape(HOSTILE_NAME) in texts["/"] and html.escape(HOSTILE_LABEL) in texts["/"]
    hostile = texts[f"/runs/{stored.hostile}"]
    assert html.escape(HOSTILE_ANSWER) in hostile
    assert html.escape(HOSTILE_REASON) in texts["/registry"]
    assert html.escape(HOSTILE_REASON) in texts["/audit"]
    serving = texts["/serving"]
    assert html.escape(HOSTILE_LABEL) in serving and html.escape(HOSTILE_ANSWER) in serving
    assert html.escape(HOSTILE_REASON) in serving
    chart = interval_chart([ChartRow("<b>x</b>", 0.5, 0.4, 0.6)], chart_id='"c', title="<t>")
    assert "<b>" not in chart and "&lt;b&gt;x&lt;/b&gt;" in chart and 'id="&quot;c-title"' in chart


def test_unknown_runs_and_pages_are_404_and_errors_are_pages_not_tracebacks(
    viewer: Viewer, monkeypatch: pytest.MonkeyPatch
):
    assert "no run &#x27;nope&#x27;" in page(viewer, "/runs/nope", 404)
    assert "There is no page at /nowhere" in page(viewer, "/nowhere", 404)
    from finegate.harness.view import _governance

    def broken(store):
        raise ValueError("cannot <b>render</b>")

    monkeypatch.setattr(_governance, "registry_page", broken)
    text = page(viewer, "/registry", 500)
    assert "ValueError: cannot &lt;b&gt;render&lt;/b&gt;" in text and "Traceback" not in text


# -- the guarantees ---------------------------------------------------------------------


def test_only_get_and_head_are_answered(served: str):
    status, headers, body = fetch(served, "HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 1000
    for method in ("POST", "PUT", "DELETE", "PATCH", "BREW"):
        status, headers, body = fetch(served + "runs/x", method)
        assert status == 405 and headers["Allow"] == "GET, HEAD", method
        assert b"it answers GET and HEAD, not " + method.encode() in body
    status, headers, _ = fetch(served)
    assert status == 200
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_requests_for_another_host_name_are_refused(served: str):
    """A page on another site that rebinds its name to 127.0.0.1 cannot read the store."""
    status, _, body = fetch(served, headers={"Host": "evil.example:8765"})
    assert status == 421 and b"127.0.0.1, ::1 or localhost only" in body
    port = served.rsplit(":", 1)[1].strip("/")
    assert fetch(served, headers={"Host": f"localhost:{port}"})[0] == 200


def test_it_binds_to_loopback_only(stored: Stored, tmp_path: Path):
    assert [check_host(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]")] == [
        "127.0.0.1",
        "127.0.0.1",
        "::1",
        "::1",
    ]
    for host in ("0.0.0.0", "::", "192.168.1.20", "example.com", ""):
        with pytest.raises(InputError, match="not a loopback address"):
            check_host(host)
    # the host is checked before anything else: no store is opened, none created
    with pytest.raises(InputError, match=re.escape("--host: '0.0.0.0' is not a loopback")):
        ViewerThread(tmp_path / "absent.db", host="0.0.0.0")
    assert not (tmp_path / "absent.db").exists()
    result = CliRunner().invoke(cli, ["view", "--store", str(stored.path), "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "finegate: error: --host: '0.0.0.0' is not a loopback address" in result.output


def test_browsing_every_page_never_writes_the_store(stored: Stored, crawled: Crawl):
    assert "fg.db" in crawled.before and not {"fg.db-wal", "fg.db-shm"} & set(crawled.before)
    assert len(crawled.pages) >= 12
    assert crawled.after == crawled.before  # same bytes, same time, no -wal or -shm beside it


def test_the_viewer_follows_a_writer(stored: Stored, tmp_path: Path):
    copy = tmp_path / "live.db"
    shutil.copy(stored.path, copy)
    viewer = Viewer(copy)
    writer = Store(copy)
    try:
        suite = make_suite(tmp_path / "suite")
        new = run_suites(rules(5), [suite], writer, RunOptions(progress=False)).run_id
        assert (tmp_path / "live.db-wal").exists()  # committed, not yet checkpointed
        assert f'href="/runs/{new}"' in page(viewer, "/")
    finally:
        writer.close()
    assert f'href="/runs/{new}"' in page(viewer, "/")


def test_a_store_that_would_need_migrating_is_refused_untouched(stored: Stored, tmp_path: Path):
    copy = tmp_path / "old.db"
    shutil.copy(stored.path, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute(
            "UPDATE finegate_meta SET value = ? WHERE key = 'schema_version'",
            (str(SCHEMA_VERSION - 1),),
        )
    conn.close()
    before = _state(tmp_path)
    with pytest.raises(StoreError, match="older than this finegate and needs upgrading") as e:
        Viewer(copy)
    assert f"open it once with finegate for writing (e.g. `finegate runs list --store {copy}`)" in (
        str(e.value)
    )
    assert _state(tmp_path) == before
    result = CliRunner().invoke(cli, ["view", "--store", str(copy), "--port", "0"])
    assert result.exit_code == 2 and "a store opened read-only is never changed" in result.output
    with pytest.raises(InputError, match="store not found"):
        Viewer(tmp_path / "absent.db")
    assert not (tmp_path / "absent.db").exists()
    with pytest.raises(InputError, match="read_only=True"):
        Viewer(Store(tmp_path / "writable.db"))


def test_a_read_only_store_refuses_to_write(stored: Stored):
    store = Store(stored.path, read_only=True)
    with pytest.raises(StoreError, match="opened read-only"):
        store.finish_run(stored.good, status="complete", timings={})
    with pytest.raises(StoreError, match="opened read-only"), store.transaction():
        pass
    assert store.get_run(stored.good)["status"] == "complete"


# -- in a browser, and from the command line --------------------------------------------


def test_every_page_linked_from_the_index_renders_in_chromium(
    stored: Stored, served: str, tmp_path: Path
):
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed for this test (the Makefile installs it)"
    index = fetch(served)[2].decode()
    targets = ["/", *links(index)]
    titles = {}
    for target in targets:
        status, _, body = fetch(served + target.lstrip("/"))
        assert status == 200, target
        titles[target] = re.search(r"<title>(.*?)</title>", body.decode()).group(1)
    assert len(targets) >= 10

    def flags(n: int) -> list[str]:
        return [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / f'profile-{n}'}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        ]  # any request for another host than the viewer's would fail

    def render(worker: int) -> list[str]:
        # a worker keeps its profile from page to page: a fresh one costs more than a page
        return [
            subprocess.run(
                [*flags(worker), "--dump-dom", served + target.lstrip("/")],
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
            for target in targets[worker::WORKERS]
        ]

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        shares = list(pool.map(render, range(WORKERS)))
    doms = [shares[i % WORKERS][i // WORKERS] for i in range(len(targets))]
    for target, dom in zip(targets, doms, strict=True):
        assert f"<title>{titles[target]}</title>" in dom, target
        assert "</main>" in dom and "Read-only: this viewer never writes" in dom, target
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "view.png"
    subprocess.run(
        [
            *flags(0),
            "--window-size=1280,1600",
            f"--screenshot={png}",
            f"{served}runs/{stored.good}",
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 20_000


def test_the_command_prints_its_url_serves_and_stops_on_ctrl_c(stored: Stored):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "finegate.harness.cli",
            "view",
            "--store",
            str(stored.path),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line + process.stderr.read()
        status, _, body = fetch(url.group(0))
        assert status == 200 and f'href="/runs/{stored.good}"'.encode() in body
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0  # a loaded CI machine can take its time
        assert "finegate view: stopped" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
