"""Exporting a monitor report's drifted traffic: a new suite version and a blind sheet.

A real store holds request-log rows (PII already redacted, as the server keeps
them) and a monitor report whose drift sections name some of them; a small suite
on disk is the one the next candidate is evaluated on.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from finegate.harness.core import InputError, Output
from finegate.harness.monitor._export import (
    REDACTED_NOTE,
    bump_version,
    drifted_requests,
    export_drifted_review,
    export_drifted_suite,
)
from finegate.harness.review import import_review, load_key
from finegate.harness.store import Store, monitor_reports_table, serve_requests_table
from finegate.harness.suite import load_suite

REPORT = "mon-20261207T190500-ab12cd"

SUITE = """\
# Ticket replies: the tests' suite. This comment must survive an export.
id: test/replies
version: 3
kind: task
description: >
  Short replies to support tickets.
source:
  path: cases.jsonl
  split: test
prompt: "Reply to this ticket: {{ input }}"
generation: {max_new_tokens: 32}
scorers:
  - name: exact_match
  - name: token_f1
  - name: json_valid
"""

CASES = [
    {
        "id": "t1",
        "input": "Where is my parcel?",
        "references": ["It ships today."],
        "split": "test",
    },
    {"id": "t2", "input": "Reset my password", "references": ["Use the link."], "split": "test"},
    {"id": "t3", "input": "Cancel my plan", "references": ["Done."], "split": "train"},
]

# The live traffic, as the request log holds it: redacted, chat prompts as JSON.
CHAT_1 = [
    {"role": "system", "content": "You answer support tickets briefly."},
    {
        "role": "user",
        "content": "Hi, I am <PERSON>; my card ending <CREDIT_CARD> was charged twice.",
    },
]
PROMPTS = {
    "req-001": "Wie kann ich mein Abo kündigen? Meine E-Mail ist <EMAIL_ADDRESS>.",
    "req-002": CHAT_1,
    "req-003": "Where is my parcel?",
    "req-004": "Please call me back on <PHONE_NUMBER> about the refund.",
    "req-005": "Write a poem about the ocean, in French.",
}


def _log_row(rid: str, at: str, version: int, alias: str, prompt: Any, answer: str) -> dict:
    chat = not isinstance(prompt, str)
    return {
        "id": rid,
        "at": at,
        "caller_hash": "c" * 64,
        "name": "triage",
        "version": version,
        "alias": alias,
        "fingerprint": f"fp-v{version}",
        "endpoint": "chat" if chat else "completions",
        "prompt": json.dumps(prompt) if chat else prompt,
        "answer": answer,
        "text_form": "redacted",
        "pii_json": json.dumps({"prompt": [], "answer": []}),
        "flags_json": "{}",
        "latency_ms": 120.0,
        "prompt_tokens": 20,
        "completion_tokens": 12,
        "cost": 0.0,
        "status": 200,
    }


def _report(drift: Any, since: str = "2026-12-07T18:00:00+00:00") -> dict:
    return {
        "id": REPORT,
        "at": "2026-12-07T19:05:00+00:00",
        "name": "triage",
        "arms": {
            "production": {"version": 1, "fingerprint": "fp-v1", "run": "run-prod", "n": 40},
            "canary": {"version": 2, "fingerprint": "fp-v2", "run": "run-canary", "n": 40},
        },
        "window": {"by": "count", "size": 40, "since": since, "until": "2026-12-07T19:05:00+00:00"},
        "drift": drift,
        "status": "fail",
    }


def _drift(inputs: list[str], outputs: list[str]) -> dict:
    def section(ids: list[str]) -> dict:
        drifted = [
            {"index": i, "request_id": rid, "text": "...", "distance": 0.5 - i / 100}
            for i, rid in enumerate(ids)
        ]
        return {"alarm": True, "alarming": ["mmd"], "tests": [], "drifted": drifted}

    return {"inputs_vs_suite": section(inputs), "outputs_vs_reference": section(outputs)}


def _add_report(store: Store, report: Any, report_id: str = REPORT, raw: str | None = None) -> None:
    with store.transaction() as conn:
        conn.execute(
            monitor_reports_table.insert(),
            {
                "id": report_id,
                "at": "2026-12-07T19:05:00+00:00",
                "name": "triage",
                "canary_version": 2,
                "production_version": 1,
                "status": "fail",
                "report_json": raw if raw is not None else json.dumps(report),
            },
        )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """Five canary requests in the window, and one old production request."""
    s = Store(tmp_path / "fg.db")
    rows = [
        _log_row(rid, f"2026-12-07T18:{10 + i:02d}:00.000+00:00", 2, "canary", p, f"answer {i}")
        for i, (rid, p) in enumerate(PROMPTS.items())
    ]
    rows.append(_log_row("req-old", "2026-12-01T09:00:00.000+00:00", 1, "production", "hi", "hey"))
    with s.transaction() as conn:
        conn.execute(serve_requests_table.insert(), rows)
    # the report names req-002 in both sections: it is exported once
    _add_report(s, _report(_drift(["req-004", "req-002", "req-001"], ["req-002", "req-005"])))
    return s


@pytest.fixture
def suite_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "suites" / "replies"
    folder.mkdir(parents=True)
    (folder / "suite.yaml").write_text(SUITE)
    (folder / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in CASES))
    return folder


def test_drifted_requests_in_report_order_once_each(store: Store) -> None:
    rows = drifted_requests(store, REPORT)
    assert [r["id"] for r in rows] == ["req-004", "req-002", "req-001", "req-005"]
    assert rows[1]["prompt"] == CHAT_1  # chat messages decoded
    assert rows[1]["drift"] == ["inputs_vs_suite", "outputs_vs_reference"]
    assert rows[0]["prompt"] == PROMPTS["req-004"]
    assert {r["version"] for r in rows} == {2} and rows[0]["text_form"] == "redacted"
    assert rows.skipped_purged == 0  # type: ignore[attr-defined]
    assert [r["id"] for r in drifted_requests(store, REPORT, limit=2)] == ["req-004", "req-002"]
    outputs = drifted_requests(store, REPORT, which=("outputs_vs_reference",))
    assert [r["id"] for r in outputs] == ["req-002", "req-005"]


def test_exported_suite_is_a_new_version_with_the_drifted_cases(
    store: Store, suite_dir: Path, tmp_path: Path
) -> None:
    before = load_suite(suite_dir)
    original = {p.name: p.read_bytes() for p in suite_dir.iterdir()}
    out = tmp_path / "replies-v4"
    result = export_drifted_suite(store, REPORT, suite_dir, out)
    assert (result.path, result.n_cases, result.skipped_purged) == (out, 4, 0)
    assert result.report_id == REPORT and result.already_present == 0

    suite = load_suite(out)
    drift_ids = ["drift-req-004", "drift-req-002", "drift-req-001", "drift-req-005"]
    assert [c.id for c in suite.all_cases] == ["t1", "t2", "t3", *drift_ids]
    assert [c.id for c in suite.cases] == ["t1", "t2", *drift_ids]  # the new ones are in the split
    assert suite.config.version == "4" and before.config.version == "3"
    assert suite.hash != before.hash
    assert suite.config.description.startswith("Short replies to support tickets.")
    assert f"monitor report {REPORT}" in suite.config.description
    assert suite.config.scorers == before.config.scorers
    assert suite.config.prompt == before.config.prompt
    text = (out / "suite.yaml").read_text()
    assert text.startswith("# Ticket replies: the tests' suite. This comment must survive")
    # the old cases are unchanged, byte for byte
    assert (out / "cases.jsonl").read_bytes().startswith(original["cases.jsonl"])
    assert {p.name: p.read_bytes() for p in suite_dir.iterdir()} == original

    new = {c.id: c for c in suite.all_cases}
    chat, text_case = new["drift-req-002"], new["drift-req-004"]
    assert chat.input is None and [m.content for m in chat.messages or ()] == [
        m["content"] for m in CHAT_1
    ]
    assert text_case.input == PROMPTS["req-004"] and text_case.messages is None
    assert "<PHONE_NUMBER>" in text_case.input  # redacted stays redacted
    for case in (chat, text_case):
        assert case.tags == ("drifted", "from-monitor")
        assert case.references == () and case.labels == {} and case.split == "test"
        assert case.metadata["report"] == REPORT
        assert case.metadata["request_id"] == case.id.removeprefix("drift-")
        assert case.metadata["redacted"] is True and case.metadata["note"] == REDACTED_NOTE
    assert suite.render_prompt(text_case) == f"Reply to this ticket: {PROMPTS['req-004']}"

    scorers = {s.metric_name: s.fn for s in suite.scorers}
    answer = Output(text='{"reply": "It ships today."}')
    for case in (chat, text_case):  # reference-based: not applicable
        assert scorers["exact_match"](case, answer) is None
        assert scorers["token_f1"](case, answer) is None
        assert scorers["json_valid"](case, answer) == 1.0  # reference-free: scored
    assert scorers["exact_match"](new["t1"], Output(text="It ships today.")) == 1.0


def test_a_suite_export_never_overwrites(store: Store, suite_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not an empty folder"):
        export_drifted_suite(store, REPORT, suite_dir, out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    empty = tmp_path / "empty"
    empty.mkdir()  # an empty folder is fine
    assert export_drifted_suite(store, REPORT, suite_dir, empty).n_cases == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_unknown_report_and_malformed_report_json(store: Store, suite_dir: Path) -> None:
    with pytest.raises(InputError, match="no monitor report 'mon-nope'"):
        drifted_requests(store, "mon-nope")
    _add_report(store, None, "mon-broken", raw="{not json")
    with pytest.raises(InputError, match=r"monitor report mon-broken: report_json: not JSON"):
        export_drifted_suite(store, "mon-broken", suite_dir, suite_dir.parent / "out")
    bad = _report({"inputs_vs_suite": {"drifted": [{"index": 0, "text": "x"}]}})
    _add_report(store, bad, "mon-no-id")
    with pytest.raises(InputError, match=r"drift\.inputs_vs_suite\.drifted\[0\]: no request_id"):
        drifted_requests(store, "mon-no-id")
    with pytest.raises(InputError, match="unknown drift section"):
        drifted_requests(store, REPORT, which=("outputs",))
    assert not (suite_dir.parent / "out").exists()


def test_purged_requests_are_skipped_and_counted(
    store: Store, suite_dir: Path, tmp_path: Path
) -> None:
    # the window began before the oldest row the log still holds: retention explains it
    drift = _drift(["req-gone-1", "req-003"], ["req-gone-2"])
    _add_report(store, _report(drift, since="2026-11-01T00:00:00+00:00"), "mon-old")
    rows = drifted_requests(store, "mon-old")
    assert [r["id"] for r in rows] == ["req-003"]
    assert rows.purged_ids == ("req-gone-1", "req-gone-2")  # type: ignore[attr-defined]
    result = export_drifted_suite(store, "mon-old", suite_dir, tmp_path / "v4")
    assert (result.n_cases, result.skipped_purged) == (1, 2)
    sheet = export_drifted_review(store, "mon-old", tmp_path / "sheet")
    assert (sheet.n_cases, sheet.skipped_purged) == (1, 2)


def test_a_missing_request_retention_cannot_explain_is_an_error(store: Store) -> None:
    # the log still holds req-old (2026-12-01), older than this window's start
    _add_report(store, _report(_drift(["req-001", "req-nowhere"], [])), "mon-odd")
    with pytest.raises(InputError, match=r"monitor report mon-odd: .*req-nowhere"):
        drifted_requests(store, "mon-odd")


def test_raw_logged_text_is_exported_only_on_purpose(
    store: Store, suite_dir: Path, tmp_path: Path
) -> None:
    raw = _log_row("req-raw", "2026-12-07T18:30:00.000+00:00", 2, "canary", "I am Ana", "ok")
    with store.transaction() as conn:
        conn.execute(serve_requests_table.insert(), [{**raw, "text_form": "raw"}])
    _add_report(store, _report(_drift(["req-raw"], [])), "mon-raw")
    with pytest.raises(InputError, match="req-raw were logged raw"):
        export_drifted_suite(store, "mon-raw", suite_dir, tmp_path / "v4")
    result = export_drifted_suite(store, "mon-raw", suite_dir, tmp_path / "v4", allow_raw=True)
    case = load_suite(tmp_path / "v4").all_cases[-1]
    assert result.n_cases == 1 and case.metadata["redacted"] is False
    assert "note" not in case.metadata


def test_a_second_export_adds_only_new_requests(
    store: Store, suite_dir: Path, tmp_path: Path
) -> None:
    export_drifted_suite(store, REPORT, suite_dir, tmp_path / "v4")
    with pytest.raises(InputError, match="no drifted request to add"):
        export_drifted_suite(store, REPORT, tmp_path / "v4", tmp_path / "v5")
    _add_report(store, _report(_drift(["req-003", "req-001"], [])), "mon-next")
    result = export_drifted_suite(store, "mon-next", tmp_path / "v4", tmp_path / "v5")
    assert (result.n_cases, result.already_present) == (1, 1)
    v5 = load_suite(tmp_path / "v5")
    assert v5.config.version == "5" and v5.all_cases[-1].id == "drift-req-003"
    assert v5.config.description.count("drifted live requests") == 2


def test_a_csv_suite_becomes_jsonl_with_the_same_old_cases(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "csv-suite"
    folder.mkdir()
    (folder / "suite.yaml").write_text(
        "id: test/csv\nversion: '2026.1'\nkind: task\nsource: {path: cases.csv}\n"
        "scorers: [{name: exact_match}]\n"
    )
    (folder / "cases.csv").write_text("id,input,references\nc1,Hello,Hi\nc2,Bye,Ciao\n")
    result = export_drifted_suite(store, REPORT, folder, tmp_path / "out", limit=1)
    before, after = load_suite(folder), load_suite(tmp_path / "out")
    assert result.n_cases == 1 and after.config.version == "2026.2"
    assert after.config.source is not None and after.config.source.path == "cases.jsonl"
    assert [c.to_dict() for c in after.all_cases[:2]] == [c.to_dict() for c in before.all_cases]
    assert after.all_cases[2].id == "drift-req-004"


def test_suites_that_cannot_take_live_prompts_are_refused(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "mc"
    folder.mkdir()
    (folder / "suite.yaml").write_text(
        "id: test/mc\nversion: 1\nkind: task\ntask: multiple_choice\n"
        "source: {path: cases.jsonl}\nscorers: [{name: choice_accuracy}]\n"
    )
    (folder / "cases.jsonl").write_text(
        json.dumps({"id": "m1", "input": "2+2?", "choices": ["3", "4"], "answer": 1}) + "\n"
    )
    with pytest.raises(InputError, match="task 'generate'"):
        export_drifted_suite(store, REPORT, folder, tmp_path / "out")
    folder2 = tmp_path / "labels"
    folder2.mkdir()
    (folder2 / "suite.yaml").write_text(SUITE.replace("Reply to this ticket", "{{ labels.x }}"))
    (folder2 / "cases.jsonl").write_text(
        json.dumps({"id": "a", "input": "x", "labels": {"x": "y"}, "split": "test"}) + "\n"
    )
    with pytest.raises(InputError, match="drift-req-004"):  # its template needs a label
        export_drifted_suite(store, REPORT, folder2, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_bump_version() -> None:
    assert [bump_version(v) for v in ("1", "1.9", "2026-01", "v2-rc", "beta")] == [
        "2",
        "1.10",
        "2026-02",
        "v3-rc",
        "beta.1",
    ]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_review_sheet_labels_single_answers_blind(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "sheet"
    result = export_drifted_review(store, REPORT, out, seed=3)
    assert (result.n_cases, result.sheet, result.skipped_purged) == (4, "label", 0)
    assert result.key_path == tmp_path / "sheet.key.json" and result.path == out
    assert [p.name for p in out.iterdir()] == ["review.csv"]  # the key is not handed out
    rows = _read_csv(out / "review.csv")
    assert list(rows[0]) == ["sheet", "item", "prompt", "answer", "rating", "rater", "comment"]
    assert [r["item"] for r in rows] == ["q1", "q2", "q3", "q4"]
    text = (out / "review.csv").read_text()
    for hidden in ("triage", "canary", "fp-v2", "req-00", "version"):
        assert hidden not in text  # blind: no version, alias, fingerprint or request id
    assert "<CREDIT_CARD>" in text  # the last turn of the chat, still redacted
    key = json.loads(result.key_path.read_text())  # type: ignore[union-attr]
    assert key["kind"] == "label" and key["report"] == REPORT and key["ratings"] == ["good", "bad"]
    by_item = {r["item"]: r for r in rows}
    for item, info in key["items"].items():
        assert (info["version"], info["alias"], info["fingerprint"]) == (2, "canary", "fp-v2")
        assert info["case_id"] == f"drift-{info['request_id']}"
        assert by_item[item]["answer"] == f"answer {int(info['request_id'][-1]) - 1}"
    with pytest.raises(InputError, match="not an empty folder"):
        export_drifted_review(store, REPORT, out)
    (out / "review.csv").unlink()
    with pytest.raises(InputError, match="never overwrites a key"):
        export_drifted_review(store, REPORT, out)


def test_review_sheet_is_ab_when_production_answered_the_same_prompts(
    store: Store, tmp_path: Path
) -> None:
    production = [
        _log_row(f"req-p{i}", f"2026-12-07T18:4{i}:00.000+00:00", 1, "production", p, f"prod {i}")
        for i, p in enumerate([PROMPTS["req-003"], CHAT_1])
    ]
    with store.transaction() as conn:
        conn.execute(serve_requests_table.insert(), production)
    _add_report(store, _report(_drift(["req-003", "req-002"], [])), "mon-ab")
    result = export_drifted_review(store, "mon-ab", tmp_path / "ab", seed=1)
    assert (result.n_cases, result.sheet) == (2, "ab")
    rows = _read_csv(tmp_path / "ab" / "review.csv")
    assert list(rows[0]) == [
        "sheet",
        "item",
        "prompt",
        "left",
        "right",
        "rating",
        "rater",
        "comment",
    ]
    key = load_key(result.key_path)  # type: ignore[arg-type]
    assert key["baseline"]["fingerprint"] == "fp-v1" and key["candidate"]["id"] == "run-canary"
    text = (tmp_path / "ab" / "review.csv").read_text()
    assert "fp-v" not in text and "canary" not in text and "production" not in text
    for row in rows:
        info = key["items"][row["item"]]
        production_side = "left" if info["left"] == "A" else "right"
        assert row[production_side].startswith("prod ")  # A is production, B the canary
    # the sheet is one import_review reads: rate every production answer better
    ratings = tmp_path / "ana.csv"
    with ratings.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sheet", "item", "rating", "rater"])
        for row in rows:
            side = "left" if key["items"][row["item"]]["left"] == "A" else "right"
            writer.writerow([row["sheet"], row["item"], side, "ana"])
    review = import_review(store, result.key_path, [ratings])  # type: ignore[arg-type]
    assert review.rated_items == 2 and set(review.consensus.values()) == {"A"}
    metrics = {m.name: m.value for m in review.metrics}
    assert metrics["loss"] == 1.0 and metrics["win"] == 0.0
    # without pairs, the same requests give a labelling sheet
    label = export_drifted_review(store, "mon-ab", tmp_path / "label", pairs=False)
    assert label.sheet == "label"
