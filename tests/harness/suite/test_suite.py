"""Suite loading: every problem reported at once, located by file, line and field."""

import json
from pathlib import Path

import pytest

from finegate.harness import InputError, load_suite, resolve_suite

SUITE = """\
id: demo/echo
version: 1
kind: task
source:
  path: cases.jsonl
prompt: "Say: {{ input }}"
generation:
  max_new_tokens: 8
scorers:
  - name: exact_match
  - name: json_valid
    as: jv
"""


def write_suite(folder: Path, yaml_text: str = SUITE, cases: list | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "suite.yaml").write_text(yaml_text)
    if cases is None:
        cases = [{"id": f"c{i}", "input": f"word{i}", "references": [f"word{i}"]} for i in range(5)]
    (folder / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    return folder / "suite.yaml"


def test_load_a_valid_suite(tmp_path):
    suite = load_suite(write_suite(tmp_path))
    assert suite.id == "demo/echo" and suite.config.version == "1"
    assert [c.id for c in suite.cases] == ["c0", "c1", "c2", "c3", "c4"]
    assert suite.render_prompt(suite.cases[1]) == "Say: word1"
    assert [s.metric_name for s in suite.scorers] == ["exact_match", "jv"]
    assert load_suite(tmp_path).hash == suite.hash  # a folder works too


def test_hash_covers_cases_scorers_and_params_but_not_description(tmp_path):
    base = load_suite(write_suite(tmp_path / "a")).hash
    described = SUITE.replace("kind: task", "kind: task\ndescription: words")
    assert load_suite(write_suite(tmp_path / "b", described)).hash == base
    changed_case = [{"id": "c0", "input": "other", "references": ["x"]}]
    assert load_suite(write_suite(tmp_path / "c", cases=changed_case)).hash != base
    more_tokens = SUITE.replace("max_new_tokens: 8", "max_new_tokens: 9")
    assert load_suite(write_suite(tmp_path / "d", more_tokens)).hash != base
    other_args = SUITE.replace(
        "  - name: exact_match\n", "  - name: exact_match\n    args: {normalize: strip}\n"
    )
    assert load_suite(write_suite(tmp_path / "e", other_args)).hash != base


def test_every_yaml_problem_is_reported_with_its_line(tmp_path):
    bad = SUITE.replace("kind: task", "kind: tsak\ncolour: blue").replace(
        "  - name: json_valid", "  - name: json_vaild"
    )
    path = write_suite(tmp_path, bad)
    with pytest.raises(InputError) as err:
        load_suite(path)
    text = str(err.value)
    assert f"{path}:3: kind: Input should be 'task'" in text
    assert f"{path}:4: colour: unknown field" in text
    with pytest.raises(InputError) as err2:
        load_suite(write_suite(tmp_path / "s", SUITE.replace("json_valid", "json_vaild")))
    assert "scorers[1].name: unknown scorer 'json_vaild'; did you mean 'json_valid'?" in str(
        err2.value
    )
    assert ":11: scorers[1].name" in str(err2.value)


def test_bad_scorer_arguments_are_named(tmp_path):
    bad = SUITE.replace("  - name: exact_match\n", "  - name: exact_match\n    args: {colour: 1}\n")
    with pytest.raises(InputError, match=r"scorers\[0\]\.args: bad arguments for scorer"):
        load_suite(write_suite(tmp_path, bad))


def test_malformed_jsonl_lines_are_all_reported(tmp_path):
    folder = tmp_path / "s"
    path = write_suite(folder)
    (folder / "cases.jsonl").write_text(
        '{"id": "a", "input": "x"}\n'
        '{"id": "b", "input": "x"\n'
        '{"id": "c", "input": "x", "refs": ["y"]}\n'
        '{"id": "d", "input": "x", "messages": [{"role": "user", "content": "y"}]}\n'
        '["not", "an", "object"]\n'
        '{"id": "a", "input": "dup"}\n'
    )
    with pytest.raises(InputError) as err:
        load_suite(path)
    cases = folder / "cases.jsonl"
    lines = str(err.value).splitlines()
    assert any(line.startswith(f"{cases}:2: invalid JSON") for line in lines)
    assert f"{cases}:3: refs: unknown field" in lines
    assert f"{cases}:4: exactly one of 'input' and 'messages' must be set" in lines
    assert f"{cases}:5: expected a JSON object" in lines
    assert f"{cases}:6: id: duplicate case id 'a' (first on line 1)" in lines


def test_csv_cases_with_labels_and_lists(tmp_path):
    yaml_text = SUITE.replace("path: cases.jsonl", "path: cases.csv")
    path = write_suite(tmp_path, yaml_text)
    (tmp_path / "cases.csv").write_text(
        "id,text,references,label.topic,source\n"
        "q1,hello,hello|hi,greeting,web\n"
        '"q2","bye, now",bye,farewell,mail\n'
    )
    yaml_text = yaml_text.replace("path: cases.csv", "path: cases.csv\n  columns: {input: text}")
    path.write_text(yaml_text)
    suite = load_suite(path)
    first, second = suite.cases
    assert first.input == "hello" and first.references == ("hello", "hi")
    assert first.labels == {"topic": "greeting"} and first.metadata == {"source": "web"}
    assert second.input == "bye, now"


def test_multiple_choice_cases_are_checked(tmp_path):
    yaml_text = SUITE.replace("kind: task", "kind: task\ntask: multiple_choice")
    cases = [
        {"id": "m1", "input": "q", "choices": ["a", "b"], "answer": 2},
        {"id": "m2", "input": "q", "choices": ["a"]},
    ]
    with pytest.raises(InputError) as err:
        load_suite(write_suite(tmp_path, yaml_text, cases))
    text = str(err.value)
    assert ":1: answer: index 2 is outside choices[0..1]" in text
    assert ":2: choices: a multiple-choice case needs at least two choices" in text
    assert ":2: answer: a multiple-choice case needs the index of its answer" in text


def test_split_selection_and_missing_split(tmp_path):
    cases = [{"id": f"c{i}", "input": "x", "split": "test" if i % 2 else "train"} for i in range(6)]
    yaml_text = SUITE.replace("path: cases.jsonl", "path: cases.jsonl\n  split: test")
    suite = load_suite(write_suite(tmp_path / "a", yaml_text, cases))
    assert [c.id for c in suite.cases] == ["c1", "c3", "c5"]
    assert [c.id for c in suite.split("train")] == ["c0", "c2", "c4"]
    with pytest.raises(InputError, match="no cases in split 'test'"):
        load_suite(write_suite(tmp_path / "b", yaml_text, [{"id": "x", "input": "y"}]))


def test_resolve_by_name_path_and_unknown(tmp_path):
    assert resolve_suite("task/support_triage").id == "task/support_triage"
    assert resolve_suite(str(write_suite(tmp_path))).id == "demo/echo"
    with pytest.raises(InputError, match="unknown suite 'task/support_triage2'; did you mean"):
        resolve_suite("task/support_triage2")
    with pytest.raises(InputError, match="suite file not found"):
        resolve_suite(str(tmp_path / "missing.yaml"))


def test_invalid_yaml_names_the_line(tmp_path):
    path = write_suite(tmp_path, SUITE.replace("version: 1", "version: [1"))
    with pytest.raises(InputError, match=rf"{path}:\d+: invalid YAML"):
        load_suite(path)
