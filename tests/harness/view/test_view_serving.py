"""The serving page: the request log's numbers per version and alias, with n and
Wilson intervals, feedback, requests over time and the newest requests a page at a
time; store text escaped, raw rows marked, callers never shown in full."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pytest

from finegate.harness.stats import wilson_interval
from finegate.harness.store import Store
from finegate.harness.view import Viewer
from tests.harness.view.serve_rows import CALLER, feedback, request, write
from tests.harness.view.test_view import page, row_of, rows_of

HOSTILE_PROMPT = "<script>alert('prompt')</script>"
HOSTILE_ANSWER = "</div><img src=x onerror=alert('answer')>"
HOSTILE_ERROR = "<script>alert('error')</script> overloaded"
LONG_PROMPT = "word " * 200  # 1,000 characters
PRODUCTION_LATENCIES = [float(i + 1) for i in range(60)]
CANARY_LATENCIES = [120.0, 80.0, 300.0]


def f4(x: float) -> str:
    return f"{x + 0.0:.4f}"


def wilson(k: int, n: int) -> str:
    lo, hi = wilson_interval(k, n)
    return f"[{f4(lo)}, {f4(hi)}]"


@pytest.fixture(scope="module")
def log_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A request log: 60 answers by triage:1 at production over two clock hours,
    3 answers and a failure by triage:2 at the canary, with feedback, and one
    request to a system served without the registry."""
    path = tmp_path_factory.mktemp("serving") / "fg.db"
    prompts = {7: HOSTILE_PROMPT, 9: [{"role": "user", "content": "hello there"}], 10: LONG_PROMPT}
    production = [
        request(
            f"req-p{i:02d}",
            i,
            prompt=prompts.get(i, f"ticket {i}"),
            answer=HOSTILE_ANSWER if i == 7 else f"answer {i}",
            text_form="raw" if i == 8 else "redacted",
            latency_ms=PRODUCTION_LATENCIES[i],
        )
        for i in range(60)
    ]
    canary = [
        request(
            f"req-c{i}",
            40.5 + i,
            version=2,
            alias="canary",
            latency_ms=latency,
            prompt_tokens=10 * (i + 1),
            completion_tokens=5 + 2 * i,
            flags={"refusal": i == 0, "json_requested": i != 1, "invalid_json": i == 2},
            answer_pii=1 if i == 1 else 0,
        )
        for i, latency in enumerate(CANARY_LATENCIES)
    ]
    canary.append(
        request(
            "req-c3",
            44.5,
            version=2,
            alias="canary",
            answer=None,
            status=503,
            error=HOSTILE_ERROR,
            latency_ms=5.0,
            prompt_tokens=0,
            completion_tokens=0,
            cost=0.0,
        )
    )
    plain = [request("req-x0", -30, name="plain", version=None, alias=None)]
    given = [
        feedback("req-c0", "up", True),
        feedback("req-c1", "up", False),
        feedback("req-c2", "down"),
        feedback("req-p05", task_completed=True),
    ]
    store = Store(path)
    write(store, plain + production + canary, given)
    store.close()
    return path


@pytest.fixture(scope="module")
def viewer(log_path: Path) -> Viewer:
    return Viewer(log_path)


def test_each_version_and_alias_shows_its_requests_errors_latency_tokens_and_cost(
    viewer: Viewer,
):
    text = page(viewer, "/serving")
    requests, flags, given = rows_of(text, "triage:2 @ canary")
    p50, p95 = np.percentile(CANARY_LATENCIES, [50, 95])
    assert requests == [
        "3",
        "1",
        "0.2500 (1 of 4)",
        wilson(1, 4),
        f4(p50),
        f4(p95),
        "60",
        "20.0000",
        "21",
        "7.0000",
        "0.0030",
    ]
    assert f4(p95) == "282.0000"  # numpy's linear percentile of 80, 120, 300
    production = rows_of(text, "triage:1 @ production")[0]
    p50, p95 = np.percentile(PRODUCTION_LATENCIES, [50, 95])
    assert production[:6] == ["60", "0", "0.0000 (0 of 60)", wilson(0, 60), f4(p50), f4(p95)]
    assert production[6:] == ["600", "10.0000", "120", "2.0000", "0.0600"]
    assert rows_of(text, "plain")[0][:3] == ["1", "0", "0.0000 (0 of 1)"]
    # flagged answers: shares of the three answers, each with its interval
    assert flags == [
        "3",
        "0.3333 (1 of 3)",
        wilson(1, 3),
        "0.3333 (1 of 3)",
        wilson(1, 3),
        "0.5000 (1 of 2)",  # of the two answers asked to be JSON
        wilson(1, 2),
    ]
    # feedback: two thumbs up of three, one task completed of two
    assert given == [
        "2",
        "1",
        "0.6667 (2 of 3)",
        wilson(2, 3),
        "1",
        "1",
        "0.5000 (1 of 2)",
        wilson(1, 2),
    ]
    assert rows_of(text, "triage:1 @ production")[2] == [
        "0",
        "0",
        "n/a (0 of 0)",
        "n/a",
        "1",
        "0",
        "1.0000 (1 of 1)",
        wilson(1, 1),
    ]
    assert "65 (64 answered)" in text


def test_the_charts_show_requests_per_hour_and_the_rates_with_intervals(viewer: Viewer):
    text = page(viewer, "/serving")
    assert '<svg role="img" aria-labelledby="serving-times-title"' in text
    # 12:30-12:59 and 13:00-13:29 for triage:1; triage:2 all in 13:00; plain at 12:00
    for title in (
        "triage:1 · 2025-03-01 12:00 UTC: 30",
        "triage:1 · 2025-03-01 13:00 UTC: 30",
        "triage:2 · 2025-03-01 12:00 UTC: 0",
        "triage:2 · 2025-03-01 13:00 UTC: 4",
        "plain · 2025-03-01 12:00 UTC: 1",
    ):
        assert f"<title>{title}</title>" in text, title
    assert ">triage:1 (60)</text>" in text and ">triage:2 (4)</text>" in text
    lo, hi = wilson_interval(1, 4)
    assert (
        f"<title>triage:2 @ canary · error rate 0.2500, 95% CI [{f4(lo)}, {f4(hi)}], n=4</title>"
        in text
    )


def test_the_newest_requests_are_paged_fifty_at_a_time(viewer: Viewer):
    first = page(viewer, "/serving")
    assert "requests 1–50 of 65, newest first" in first and "page 1 of 2" in first
    assert first.index("<code>req-p59</code>") < first.index("<code>req-c3</code>")
    assert first.index("<code>req-c3</code>") < first.index("<code>req-p44</code>")
    assert "<code>req-p10</code>" not in first and 'href="/serving?page=2"' in first
    second = page(viewer, "/serving?page=2")
    assert "requests 51–65 of 65, newest first" in second
    assert "<code>req-p10</code>" in second and "<code>req-x0</code>" in second
    assert "<code>req-p59</code>" not in second
    assert "there is no page 3" in page(viewer, "/serving?page=3", 404)
    page(viewer, "/serving?page=x", 400)
    small = Viewer(viewer.store, requests_per_page=10)
    assert "requests 61–65 of 65" in page(small, "/serving?page=7")


def test_a_request_row_shows_what_was_asked_and_answered_and_its_feedback(viewer: Viewer):
    first, second = page(viewer, "/serving"), page(viewer, "/serving?page=2")
    assert row_of(first, "req-c0")[:7] == [
        "2025-03-01 13:10:30 UTC",
        "triage:2",
        "canary",
        "chat",
        CALLER[:8],
        "200",
        "120.0000",
    ]
    assert row_of(first, "req-c0")[7:] == [
        "route this ticket",
        "billing",
        "redacted",
        "thumbs up, task completed",
    ]
    assert row_of(first, "req-c3")[5:9] == [
        "503",
        "5.0000",
        "route this ticket",
        f"error: {HOSTILE_ERROR}",
    ]
    assert row_of(first, "req-c2")[-1] == "thumbs down"
    assert row_of(second, "req-p09")[7] == "user: hello there"
    assert row_of(second, "req-x0")[1:3] == ["plain", "—"]
    clipped = row_of(second, "req-p10")[7]
    assert clipped.endswith("… (1000 characters)") and len(clipped) < 330
    # a caller is never shown in full
    assert CALLER not in first + second and CALLER[:9] not in first + second


def test_store_text_is_escaped_and_raw_rows_are_marked(viewer: Viewer):
    second = page(viewer, "/serving?page=2")
    first = page(viewer, "/serving")
    for text in (first, second):
        assert "<script" not in text and "<img" not in text
    assert html.escape(HOSTILE_PROMPT) in second and html.escape(HOSTILE_ANSWER) in second
    assert html.escape(HOSTILE_ERROR) in first
    assert '<tr class="raw"><th scope="row"><code>req-p08</code></th>' in second
    assert row_of(second, "req-p08")[9] == "⚠ RAW"
    assert row_of(second, "req-p07")[9] == "redacted"
    assert "1 request(s) are stored as raw text" in first
    assert "1 raw, 64 redacted" in first


def test_an_empty_log_says_who_writes_it(tmp_path: Path):
    Store(tmp_path / "empty.db").close()
    viewer = Viewer(tmp_path / "empty.db")
    text = page(viewer, "/serving")
    assert "No requests logged: `finegate serve` writes here." in text
    assert "<table" not in text and "<svg" not in text
    assert "there is no page 2" in page(viewer, "/serving?page=2", 404)
    index = page(viewer, "/")
    assert '<a href="/serving"><b>0</b>requests served</a>' in index
    assert '<a href="/serving" aria-current="page">Serving</a>' in text


def test_the_index_counts_the_requests(viewer: Viewer):
    assert '<a href="/serving"><b>65</b>requests served</a>' in page(viewer, "/")


def test_a_long_log_is_charted_per_day_and_model_names_are_escaped(tmp_path: Path):
    name = "<b>m</b>"
    store = Store(tmp_path / "long.db")
    days = [0, 1, 1, 59]
    write(store, [request(f"r{i}", d * 24 * 60, name=name) for i, d in enumerate(days)], [])
    store.close()
    text = page(Viewer(tmp_path / "long.db"), "/serving")
    assert "<b>m" not in text
    assert "Requests per day per version, UTC" in text
    label = html.escape(f"{name}:1")
    assert f"<title>{label}: 4 in all, at most 2</title>" in text
    assert f">{label} (4)</text>" in text and ">2025-04-29</text>" in text
    assert rows_of(text, f"{label} @ production")[0][0] == "4"
