"""Answer drift between a base model's known-good answers and a candidate's."""

import json

import pytest

from finegate.harness import CallableSystem, RunOptions, Store, load_suite, run_suites
from finegate.harness.compare import answer_drift, answer_format, save_drift

SUITE = """\
id: test/everyday
version: 1
kind: regression
source: {path: prompts.jsonl}
scorers:
  - name: length
"""

PROMPTS = [
    "What is the capital of France?",
    "List two fruits.",
    "Give JSON with key a.",
    "How do I boil an egg?",
    "Say hello.",
]

BASE = {
    "What is the capital of France?": "The capital of France is Paris.",
    "List two fruits.": "- apple\n- pear",
    "Give JSON with key a.": '{"a": 1}',
    "How do I boil an egg?": "Put the egg in boiling water for seven minutes, then cool it.",
    "Say hello.": "Hello!",
}
CANDIDATE = {
    **BASE,
    "List two fruits.": "Apples and pears are two fruits.",  # list -> plain
    "Give JSON with key a.": "I'm sorry, but I can't help with that.",  # refusal
    "How do I boil an egg?": "Boil it.",  # much shorter
}


def _system(answers, name):
    def answer(prompt):
        return answers[prompt[-1].content]

    return CallableSystem(answer, name=name, version=name)


def test_answer_formats():
    assert answer_format('{"a": 1}') == "json"
    assert answer_format("[1, 2]") == "json"
    assert answer_format("- a\n- b") == "list"
    assert answer_format("1. a\n2. b\n") == "list"
    assert answer_format("```python\nx = 1\n```") == "code"
    assert answer_format("{not json") == "plain"


def test_drift_names_each_change(tmp_path):
    (tmp_path / "suite.yaml").write_text(SUITE)
    rows = [{"id": f"p{i}", "input": p} for i, p in enumerate(PROMPTS)]
    (tmp_path / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    suite = load_suite(tmp_path)
    store = Store(tmp_path / "fg.db")
    base = run_suites(_system(BASE, "base"), [suite], store, RunOptions(progress=False))
    cand = run_suites(_system(CANDIDATE, "cand"), [suite], store, RunOptions(progress=False))
    drift = answer_drift(store, base.run_id, cand.run_id)
    kinds = {c.case_id: c.kinds for c in drift.changes}
    assert kinds["p0"] == () and kinds["p4"] == ()
    # length ratio (words + 1): p1 (6 + 1) / (4 + 1) = 1.4, under the 1.5 threshold;
    # p2 (8 + 1) / (2 + 1) = 3.0; p3 (2 + 1) / (12 + 1), i.e. 13/3 = 4.3x shorter
    assert kinds["p1"] == ("format list -> plain",)
    assert kinds["p2"] == ("became a refusal", "format json -> plain", "3.0x longer")
    assert kinds["p3"] == ("4.3x shorter",)
    metrics = {m.name: m for m in drift.metrics[suite.id]}
    assert metrics["changed"].value == pytest.approx(3 / 5) and metrics["changed"].n == 5
    assert metrics["became_refusal"].value == pytest.approx(1 / 5)
    assert metrics["format_changed"].value == pytest.approx(2 / 5)
    assert metrics["much_shorter"].value == pytest.approx(1 / 5)
    assert metrics["changed"].method.startswith("wilson")
    run_id = save_drift(store, drift)
    assert save_drift(store, drift) == run_id
    stored = {r["case_id"]: r for r in store.records(run_id)}
    assert stored["p2"]["output"]["kinds"][0] == "became a refusal"
    assert stored["p2"]["output"]["baseline"] == '{"a": 1}'
