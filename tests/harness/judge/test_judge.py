"""The judge: lenient reading, one strict retry, errors never pass, repeats and swaps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finegate.harness.core import GenerationParams, InputError, Prompt
from finegate.harness.judge import JudgeVerdict, judge_pairwise, judge_pointwise, judge_system
from finegate.harness.system import CallableSystem

RUBRIC = "Score 5 when the answer is correct and polite, 1 when it is wrong."


def _last(prompt: Prompt) -> str:
    return prompt if isinstance(prompt, str) else prompt[-1].content


def test_lenient_reading_of_scores() -> None:
    replies = iter(
        [
            '{"score": 4, "reason": "fine"}',
            'Sure!\n```json\n{"score": "5/5", "reason": "great"}\n```',
            "I would say Score: 2 because it is wrong.",
            '{"rating": 3}',
        ]
    )

    def judge(prompt: Prompt) -> str:
        return next(replies)

    system = CallableSystem(judge, name="scripted")
    items = [("q1", "a1"), ("q2", "a2"), ("q3", "a3"), ("q4", "a4")]
    verdicts = judge_pointwise(system, RUBRIC, items)
    assert [v.score for v in verdicts] == [4.0, 5.0, 2.0, 3.0]
    assert all(v.error is None and v.attempts == 1 for v in verdicts)
    assert verdicts[0].reason == "fine"
    assert {v.judge for v in verdicts} == {system.fingerprint()}
    assert len({v.prompt_hash for v in verdicts}) == 1


def test_unreadable_answer_is_retried_once_then_an_error() -> None:
    seen: list[str] = []

    def judge(prompt: Prompt) -> str:
        seen.append(_last(prompt))
        if "could not be read" in _last(prompt):
            # the item about cats recovers on the strict retry, the one about dogs never does
            return '{"score": 3}' if "cats" in prompt[0].content else "no idea, sorry"
        return "I think it is quite good overall."

    verdicts = judge_pointwise(
        CallableSystem(judge, name="rambling"), RUBRIC, [("cats?", "yes"), ("dogs?", "no")]
    )
    assert verdicts[0].score == 3.0 and verdicts[0].error is None and verdicts[0].attempts == 2
    assert verdicts[1].score is None
    assert verdicts[1].error == "unreadable after a retry: no score in the judge's reply"
    assert verdicts[1].attempts == 2
    assert "--- retry ---" in verdicts[1].raw
    assert len(seen) == 4


def test_out_of_scale_and_unknown_label_are_errors() -> None:
    system = CallableSystem(lambda p: '{"score": 9}', name="nine")
    [v] = judge_pointwise(system, RUBRIC, [("q", "a")])
    assert v.score is None and "outside 1..5" in (v.error or "")
    system = CallableSystem(lambda p: '{"label": "maybe"}', name="maybe")
    [v] = judge_pointwise(system, "Is it safe?", [("q", "a")], labels=["safe", "unsafe"])
    assert v.score is None and v.label is None
    assert v.error == "unreadable after a retry: label 'maybe' is not one of safe, unsafe"


def test_labels_score_best_first_and_lone_words() -> None:
    replies = {"a1": '{"label": "SAFE"}', "a2": "This one is unsafe.", "a3": "safe or unsafe?"}

    def judge(prompt: Prompt) -> str:
        text = prompt[0].content
        if "could not be read" in _last(prompt):
            return "still unsure"
        return next(v for k, v in replies.items() if f"\n{k}\n" in text)

    verdicts = judge_pointwise(
        CallableSystem(judge, name="labels"),
        "Is the answer safe?",
        [("q", "a1"), ("q", "a2"), ("q", "a3")],
        labels=["safe", "unsafe"],
    )
    assert [(v.label, v.score) for v in verdicts] == [("safe", 1.0), ("unsafe", 0.0), (None, None)]
    assert verdicts[2].error is not None
    custom = judge_pointwise(
        CallableSystem(judge, name="labels"),
        "Is the answer safe?",
        [("q", "a2")],
        labels=["safe", "unsafe"],
        label_scores={"safe": 1.0, "unsafe": -1.0},
    )
    assert custom[0].score == -1.0


def test_repeats_give_majority_and_agreement() -> None:
    def judge(prompt: Prompt, params: GenerationParams) -> str:
        # seeds 0..4: three say safe, two say unsafe
        return json.dumps({"label": "safe" if params.seed in (0, 2, 4) else "unsafe"})

    [v] = judge_pointwise(
        CallableSystem(judge, name="noisy"),
        "Safe?",
        [("q", "a")],
        labels=["safe", "unsafe"],
        repeats=5,
    )
    assert v.label == "safe" and v.score == 1.0
    assert v.votes == 5 and v.agreement == pytest.approx(0.6)
    # a split vote between labels goes to the worse label: doubt never passes
    [v] = judge_pointwise(
        CallableSystem(judge, name="noisy"),
        "Safe?",
        [("q", "a")],
        labels=["safe", "unsafe"],
        repeats=2,
    )
    assert v.label == "unsafe" and v.agreement == 0.5

    def scores(prompt: Prompt, params: GenerationParams) -> str:
        return json.dumps({"score": [4, 4, 2][params.seed]})

    [v] = judge_pointwise(CallableSystem(scores, name="s"), RUBRIC, [("q", "a")], repeats=3)
    assert v.score == pytest.approx(10 / 3) and v.agreement == pytest.approx(2 / 3)


def test_pairwise_swap_detects_position_bias() -> None:
    def fair(prompt: Prompt) -> str:
        text = prompt[0].content
        a = text.split("Answer A:\n")[1].split("\n")[0]
        return '{"winner": "A"}' if a == "Paris" else '{"winner": "B"}'

    def first_always(prompt: Prompt) -> str:
        return '{"winner": "A"}'

    items = [("Capital of France?", "Paris", "Lyon"), ("Capital of France?", "Lyon", "Paris")]
    fair_v = judge_pairwise(CallableSystem(fair, name="fair"), "Correctness.", items)
    assert [(v.winner, v.consistent, v.score) for v in fair_v] == [
        ("A", True, 1.0),
        ("B", True, 0.0),
    ]
    biased = judge_pairwise(CallableSystem(first_always, name="biased"), "Correctness.", items)
    assert [(v.winner, v.consistent, v.first, v.swapped) for v in biased] == [
        ("tie", False, "A", "B"),
        ("tie", False, "A", "B"),
    ]
    broken = judge_pairwise(CallableSystem(lambda p: "hmm", name="broken"), "C.", items[:1])
    assert broken[0].winner is None and broken[0].score is None and broken[0].error


def test_verdict_is_frozen_and_bad_config_is_located() -> None:
    v = JudgeVerdict(1.0, None, None, "{}", "f", "h")
    with pytest.raises(AttributeError):
        v.score = 2.0  # type: ignore[misc]
    with pytest.raises(InputError) as e:
        judge_system({"model": "x", "endpont": "http://127.0.0.1:1/v1"})
    assert "judge.endpont" in str(e.value)
    with pytest.raises(InputError, match="exactly one"):
        judge_system({"python": "a:b", "endpoint": "http://127.0.0.1:1/v1", "model": "m"})
    with pytest.raises(InputError, match="the rubric is empty"):
        judge_pointwise(CallableSystem(lambda p: "", name="x"), "  ", [("q", "a")])


def test_real_model_judge_with_garbled_answers_counts_errors(tiny_chat_llama) -> None:
    """A real (random-weight) transformers judge answers noise: every verdict is an
    error after one strict retry, none a pass."""
    judge = judge_system({"model": str(tiny_chat_llama), "device": "cpu", "batch_size": 4})
    verdicts = judge_pointwise(
        judge,
        "Is the answer safe?",
        [("q1", "a1"), ("q2", "a2")],
        labels=["safe", "unsafe"],
        max_new_tokens=8,
    )
    assert [v.score for v in verdicts] == [None, None]
    assert all(v.error and v.error.startswith("unreadable after a retry") for v in verdicts)
    assert all(v.attempts == 2 and v.judge == judge.fingerprint() for v in verdicts)


JUDGE_MODULE = """
import json
from pathlib import Path
from finegate.harness import CallableSystem


def grade(prompt):
    text = prompt[0].content
    answer = text.split("Answer to grade:\\n")[1].split("\\n")[0]
    if "could not be read" in prompt[-1].content:
        return "still rambling"
    if answer == "???":
        return "I cannot decide."
    return json.dumps({"score": 5 if answer.isupper() else 2, "reason": "shouting is right"})


judge = CallableSystem(grade, name="shout-judge", version="1")
"""


def _judge_suite(
    folder, judge_yaml: str, rubric: str = "Upper case is correct.", extra: str = ""
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rubric.txt").write_text(rubric)
    (folder / "suite.yaml").write_text(
        "id: t/judged\nversion: 1\nkind: task\nsource: {path: c.jsonl}\nprompt: '{{ input }}'\n"
        "generation: {max_new_tokens: 8}\n"
        "scorers:\n"
        f"  - name: judge\n    args: {{judge: {judge_yaml}, rubric_file: rubric.txt, "
        f"pass_threshold: 0.5{extra}}}\n"
    )
    (folder / "c.jsonl").write_text(
        "".join(
            json.dumps({"id": f"c{i}", "input": w}) + "\n"
            for i, w in enumerate(["yes", "no", "maybe", "???", "fine"])
        )
    )
    return folder / "suite.yaml"


def test_judge_scorer_in_a_suite(tmp_path, monkeypatch) -> None:
    from finegate.harness import RunOptions, Store, load_suite, run_suites

    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "fg_test_judges.py").write_text(JUDGE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    import fg_test_judges

    suite = load_suite(_judge_suite(tmp_path / "s", "{python: 'fg_test_judges:judge'}"))

    def answer(prompt: Prompt) -> str:
        word = prompt[-1].content
        return {"yes": "YES", "no": "NO", "maybe": "maybe", "???": "???", "fine": "fine"}[word]

    store = Store(tmp_path / "fg.db")
    result = run_suites(CallableSystem(answer, name="sys"), [suite], store, RunOptions())
    m = {x.name: x for x in result.metrics["t/judged"]}
    # scores 5, 5, 2, error, 2 on the scale 1..5 -> 1, 1, 0.25, None, 0.25
    assert (m["judge"].value, m["judge"].n) == (pytest.approx(0.625), 4)
    assert (m["judge.error"].value, m["judge.error"].n) == (0.2, 5)
    assert (m["judge.pass"].value, m["judge.pass"].n) == (0.4, 5)  # the error is no pass
    assert m["judge.errors"].value == 1.0
    records = store.records(result.run_id)
    fingerprint = fg_test_judges.judge.fingerprint()
    for r in records:
        facts = r["facts"]["judge"]
        assert facts["judge"] == fingerprint
        assert facts["prompt_hash"] == suite.scorers[0].identity["prompt_hash"]
    assert records[3]["scores"]["judge"] is None
    assert records[3]["facts"]["judge"]["error"].startswith("unreadable after a retry")
    assert suite.scorers[0].identity["judge"] == fingerprint
    # another rubric is another suite: cached numbers are never reused across rubrics
    other = load_suite(
        _judge_suite(tmp_path / "s2", "{python: 'fg_test_judges:judge'}", "Be kind.")
    )
    assert other.hash != suite.hash


def test_pairwise_judge_scorer_against_references(tmp_path) -> None:
    from finegate.harness.core import Case, Output
    from finegate.harness.scorer import load_scorer

    def longer(prompt: Prompt) -> str:
        text = prompt[0].content
        a = text.split("Answer A:\n")[1].split("\n")[0]
        b = text.split("Answer B:\n")[1].split("\n")[0]
        return json.dumps({"winner": "A" if len(a) > len(b) else "B" if len(b) > len(a) else "tie"})

    loaded = load_scorer(
        "judge",
        {
            "judge": CallableSystem(longer, name="longer"),
            "rubric": "Longer wins.",
            "mode": "pairwise",
        },
    )
    cases = [
        Case("a", input="q", references=("short",)),
        Case("b", input="q", references=("a much longer reference",)),
        Case("c", input="q"),
    ]
    outputs = [Output("a long answer"), Output("tiny"), Output("x")]
    scored = loaded.fn.score_batch(cases, outputs)
    assert [s.scores.get("") for s in scored] == [1.0, 0.0, None]
    assert scored[0].scores["inconsistent"] == 0.0 and scored[0].facts["consistent"] is True


@pytest.mark.slow
def test_smollm2_as_judge_in_a_suite(tmp_path) -> None:
    """The embedded SmolLM2 as a real judge: it rarely writes the JSON asked for,
    so its unreadable verdicts must show up as errors, never as passes."""
    from finegate.harness import DEFAULT_MODEL, RunOptions, Store, load_suite, run_suites

    suite = load_suite(
        _judge_suite(
            tmp_path / "s",
            f"{{model: {DEFAULT_MODEL}, device: cpu}}",
            extra=", max_new_tokens: 32",
        )
    )

    def answer(prompt: Prompt) -> str:
        return prompt[-1].content.upper()

    store = Store(tmp_path / "fg.db")
    result = run_suites(CallableSystem(answer, name="sys"), [suite], store, RunOptions())
    m = {x.name: x for x in result.metrics["t/judged"]}
    records = store.records(result.run_id)
    errors = [r for r in records if r["facts"]["judge"]["error"]]
    assert m["judge.errors"].value == len(errors) and m["judge.error"].n == 5
    assert all(r["scores"]["judge"] is None and r["scores"]["judge.pass"] == 0.0 for r in errors)
    readable = [r for r in records if not r["facts"]["judge"]["error"]]
    assert all(0.0 <= r["scores"]["judge"] <= 1.0 for r in readable)
    assert m["judge.pass"].value == sum(r["scores"]["judge.pass"] for r in records) / 5
    assert {r["facts"]["judge"]["judge"] for r in records} == {suite.scorers[0].identity["judge"]}
