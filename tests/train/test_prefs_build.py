"""Preference data built from finegate's own evidence: blind review ratings, a
judge's swap-consistent verdicts, and answers scored against the reference."""

from __future__ import annotations

import csv
import json

import pytest

from finegate.harness import CallableSystem, RunOptions, Store, load_suite, run_suites
from finegate.harness.core import InputError
from finegate.harness.review import export_review, import_review, review_with_judge
from finegate.train._prefs_build import (
    from_judge_sheet,
    from_review,
    from_scores,
    write_preferences,
)

SUITE = """\
id: test/route
version: 1
kind: task
source: {path: cases.jsonl}
scorers:
  - {name: exact_match}
"""
TICKETS = [
    ("My invoice shows a charge twice", "billing"),
    ("The app crashes when I open settings", "technical"),
    ("How do I change my delivery address?", "account"),
    ("I was charged after cancelling", "billing"),
    ("Password reset email never arrives", "account"),
    ("Export to CSV produces an empty file", "technical"),
]


def _text(prompt) -> str:
    return prompt if isinstance(prompt, str) else prompt[-1].content


@pytest.fixture()
def runs(tmp_path):
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "suite.yaml").write_text(SUITE)
    rows = [
        {"id": f"t{i}", "input": text, "references": [label]}
        for i, (text, label) in enumerate(TICKETS)
    ]
    (tmp_path / "suite" / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    suite = load_suite(tmp_path / "suite")
    store = Store(tmp_path / "fg.db")
    truth = {text: label for text, label in TICKETS}

    def right(prompt: str) -> str:
        return next(label for text, label in truth.items() if text in _text(prompt))

    def half_right(prompt: str) -> str:  # right on billing tickets only
        label = right(prompt)
        return label if label == "billing" else "billing"

    options = RunOptions(progress=False)
    good = run_suites(CallableSystem(right, name="good", version="1"), [suite], store, options)
    weak = run_suites(CallableSystem(half_right, name="weak", version="1"), [suite], store, options)
    return store, weak.run_id, good.run_id


def test_scored_answers_make_right_versus_wrong_pairs(runs):
    store, weak, good = runs
    pairs = from_scores(store, [weak, good], "exact_match")
    # the weak system is wrong on the four non-billing tickets: one pair each
    assert sorted(p["provenance"]["case"] for p in pairs) == ["t1", "t2", "t4", "t5"]
    by_case = {p["provenance"]["case"]: p for p in pairs}
    assert (by_case["t1"]["chosen"], by_case["t1"]["rejected"]) == ("technical", "billing")
    assert by_case["t1"]["prompt"][0]["content"].startswith("The app crashes")
    assert by_case["t1"]["provenance"]["chosen_run"] == good
    rows = from_scores(store, [weak, good], "exact_match", unpaired=True)
    assert len(rows) == 10  # 6 right answers (good) + 4 wrong ones (weak); identical answers once
    assert sum(r["label"] for r in rows) == 6
    with pytest.raises(InputError, match="no per-case score 'token_f1'"):
        from_scores(store, [weak], "token_f1")


def test_several_pairs_per_case_are_distinct_answers(runs, tmp_path):
    store, weak, good = runs
    other = run_suites(
        CallableSystem(lambda prompt: "account", name="other", version="1"),
        [load_suite(tmp_path / "suite")],
        store,
        RunOptions(progress=False),
    ).run_id
    one = from_scores(store, [weak, good, other], "exact_match")
    two = from_scores(store, [weak, good, other], "exact_match", pairs_per_case=2)
    count = {c: [p["provenance"]["case"] for p in two].count(c) for c in ("t0", "t1", "t2")}
    # t1 (technical): two different wrong answers, billing and account; t2 (account):
    # "account" twice is one right answer against one wrong; t0 (billing): one pair
    assert count == {"t0": 1, "t1": 2, "t2": 1}
    assert len(one) == 6 and len(two) == 8
    assert {p["rejected"] for p in two if p["provenance"]["case"] == "t1"} == {"billing", "account"}
    with pytest.raises(InputError, match="at least 1"):
        from_scores(store, [weak, good], "exact_match", pairs_per_case=0)


def test_a_review_run_gives_the_majority_winner_as_chosen(runs, tmp_path):
    store, weak, good = runs
    exported = export_review(store, weak, good, tmp_path / "sheet")
    key = json.loads(exported.key_path.read_text())
    # the rater prefers the good system's answer, and calls t0 and t3 (same answers) ties
    ratings = tmp_path / "ana.csv"
    with ratings.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["item", "rating"])
        for item, info in key["items"].items():
            same = info["case_id"] in ("t0", "t3")
            writer.writerow([item, "tie" if same else ("left" if info["left"] == "B" else "right")])
    review = import_review(store, exported.key_path, [ratings])
    pairs = from_review(store, review.run_id)
    assert sorted(p["provenance"]["case"] for p in pairs) == ["t1", "t2", "t4", "t5"]
    assert all(p["provenance"]["chosen_run"] == good for p in pairs)
    assert {p["provenance"]["from"] for p in pairs} == {"review"}


def test_a_judge_counts_only_where_it_held_after_the_swap(runs, tmp_path):
    store, weak, good = runs
    exported = export_review(store, weak, good, tmp_path / "sheet")

    def judge_fn(prompt: str) -> str:
        """Prefers the technical answer when it sees one; otherwise always 'A'
        (a position bias, caught by the swap)."""
        a = _text(prompt).split("Answer A:")[1].split("Answer B:")[0]
        b = _text(prompt).split("Answer B:")[1]
        if "technical" in a or "account" in a:
            return '{"winner": "A", "reason": "right category"}'
        if "technical" in b or "account" in b:
            return '{"winner": "B", "reason": "right category"}'
        return '{"winner": "A", "reason": "first"}'

    judge = CallableSystem(judge_fn, name="judge", version="1")
    sheet = review_with_judge(
        tmp_path / "sheet", judge, "the right category", tmp_path / "judge.csv"
    )
    notes = [r["comment"] for r in csv.DictReader(sheet.open())]
    assert notes.count("swap-consistent") == 4 and notes.count("swap-inconsistent") == 2
    pairs = from_judge_sheet(store, exported.key_path, sheet)
    assert sorted(p["provenance"]["case"] for p in pairs) == ["t1", "t2", "t4", "t5"]
    assert all(p["chosen"] in ("technical", "account") for p in pairs)


def test_rows_are_written_once_in_one_form(runs, tmp_path):
    store, weak, good = runs
    pairs = from_scores(store, [weak, good], "exact_match")
    written = write_preferences(pairs, tmp_path / "prefs.jsonl")
    assert (
        written["rows"] == 4 and written["form"] == "paired" and written["origins"] == {"scores": 4}
    )
    lines = (tmp_path / "prefs.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == pairs
    unpaired = from_scores(store, [weak, good], "exact_match", unpaired=True)
    with pytest.raises(InputError, match="cannot share a file"):
        write_preferences(pairs + unpaired, tmp_path / "mixed.jsonl")
    assert not (tmp_path / "mixed.jsonl").exists()
    with pytest.raises(InputError, match="nothing written"):
        write_preferences([], tmp_path / "empty.jsonl")


def test_the_command_writes_the_file_and_names_bad_input(runs, tmp_path):
    from click.testing import CliRunner

    from finegate.harness.cli import cli

    store, weak, good = runs
    out = tmp_path / "prefs.jsonl"
    db = str(store.location)
    result = CliRunner().invoke(
        cli,
        ["prefs", "build", "--scored", weak, "--scored", good, "--metric", "exact_match",
         "-o", str(out), "--store", db],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "4 paired preference rows (4 from scores)" in result.output
    assert len(out.read_text().splitlines()) == 4
    missing = CliRunner().invoke(
        cli, ["prefs", "build", "--scored", weak, "-o", str(out), "--store", db]
    )
    assert missing.exit_code == 2 and "--scored needs --metric" in missing.output
    wrong = CliRunner().invoke(
        cli, ["prefs", "build", "--review", weak, "-o", str(tmp_path / "x.jsonl"), "--store", db]
    )
    assert wrong.exit_code == 2 and "not a review" in wrong.output


def test_built_rows_prepare_and_are_checked_for_contamination(runs, tmp_path):
    """The rows `prefs build` writes are valid preference data; prompts taken from
    the evaluated suite itself are caught by the contamination check."""
    from click.testing import CliRunner

    from finegate.harness.cli import cli
    from finegate.harness.data import check_contamination
    from finegate.train._prefs_data import prepare_preferences
    from finegate.train._recipe import DataConfig
    from finegate.train._steps import _conversations

    store, weak, good = runs
    prefs = tmp_path / "prefs.jsonl"
    write_preferences(from_scores(store, [weak, good], "exact_match"), prefs)
    result = CliRunner().invoke(
        cli, ["data", "prepare", str(prefs), "--format", "preference", "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "4 paired preference examples on 4 prompts" in result.output
    data = prepare_preferences(
        DataConfig(path=str(prefs), format="preference", splits=(1.0, 0.0, 0.0))
    )
    folder = data.write(tmp_path / "prepared")
    conversations = _conversations(data, folder)
    suite = load_suite(tmp_path / "suite")
    found = check_contamination(conversations, suite, store)
    caught = sorted(c.case_id for c in found.cases if c.contaminated)
    assert caught == ["t1", "t2", "t4", "t5"]  # the four tickets the pairs were built on
