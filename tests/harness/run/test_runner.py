"""The runner: metrics, cache, and resumption after a crash."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from finegate.harness import (
    CallableSystem,
    HFModel,
    PromptTemplate,
    RunOptions,
    Store,
    load_suite,
    run_suites,
)
from finegate.harness.stats import wilson_interval

SUITE = """\
id: test/upper
version: 1
kind: task
source: {path: cases.jsonl}
prompt: "{{ input }}"
generation: {max_new_tokens: 8}
scorers:
  - name: exact_match
    args: {normalize: strip}
"""


def make_suite(folder: Path, n: int = 10, yaml_text: str = SUITE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "suite.yaml").write_text(yaml_text)
    rows = [{"id": f"c{i:03d}", "input": f"word{i}", "references": [f"WORD{i}"]} for i in range(n)]
    (folder / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder / "suite.yaml"


def upper_even(prompt, params):
    """Right on even-numbered words only: a known accuracy."""
    text = prompt[-1].content
    return text.upper() if int(text[4:]) % 2 == 0 else text


def test_metrics_are_right_and_carry_n_and_interval(tmp_path):
    suite = load_suite(make_suite(tmp_path / "s", n=10))
    store = Store(tmp_path / "fg.db")
    result = run_suites(CallableSystem(upper_even), [suite], store, RunOptions(progress=False))
    (metric,) = result.metrics["test/upper"]
    assert metric.name == "exact_match" and metric.value == 0.5 and metric.n == 10
    assert (metric.ci_low, metric.ci_high) == wilson_interval(5, 10)
    records = store.records(result.run_id)
    assert [r["case_id"] for r in records] == [f"c{i:03d}" for i in range(10)]
    assert records[0]["output"]["text"] == "WORD0" and records[1]["scores"] == {"exact_match": 0.0}
    run = store.get_run(result.run_id)
    assert run["status"] == "complete" and run["suites"][0]["hash"] == suite.hash
    assert run["environment"]["libraries"]["finegate"]


def test_an_unchanged_rerun_is_answered_from_the_cache(tmp_path):
    calls = []

    def counting(prompt, params):
        calls.append(prompt)
        return upper_even(prompt, params)

    suite = load_suite(make_suite(tmp_path / "s"))
    store = Store(tmp_path / "fg.db")
    first = run_suites(CallableSystem(counting), [suite], store, RunOptions(progress=False))
    second = run_suites(CallableSystem(counting), [suite], store, RunOptions(progress=False))
    assert len(calls) == 10
    assert second.run_id != first.run_id
    assert second.timings["cache_hits"] == 10 and second.timings["computed"] == 0
    assert second.metrics == first.metrics
    third = run_suites(
        CallableSystem(counting), [suite], store, RunOptions(progress=False, use_cache=False)
    )
    assert len(calls) == 20 and third.metrics == first.metrics


def test_a_crashed_run_resumes_and_ends_with_the_same_metrics(tmp_path):
    suite = load_suite(make_suite(tmp_path / "s", n=20))
    state = {"calls": 0}

    def crashing(prompt, params):
        state["calls"] += 1
        if state["calls"] > 12:
            raise RuntimeError("power cut")
        return upper_even(prompt, params)

    crashing.__name__ = upper_even.__name__  # same fingerprint input as the clean system
    store = Store(tmp_path / "fg.db")
    options = RunOptions(progress=False, chunk_size=4, use_cache=False)
    system = CallableSystem(crashing, name="upper")
    system.fingerprint = lambda: "same-system"  # the crash is the only difference
    with pytest.raises(RuntimeError, match="power cut"):
        run_suites(system, [suite], store, options)
    (unfinished,) = store.list_runs()
    assert unfinished["status"] == "running"
    assert len(store.records(unfinished["id"])) == 12  # three committed chunks of four
    state["calls"] = -100
    resumed = run_suites(system, [suite], store, options)
    assert resumed.resumed and resumed.run_id == unfinished["id"]
    assert resumed.timings["computed"] == 8
    clean = run_suites(
        CallableSystem(upper_even),
        [suite],
        Store(tmp_path / "clean.db"),
        RunOptions(progress=False, chunk_size=4),
    )
    assert resumed.metrics == clean.metrics


def test_prompt_template_reaches_the_model_and_changes_the_cache_key(tmp_path):
    seen = []

    def echo(prompt, params):
        seen.append(prompt)
        return "x"

    suite = load_suite(make_suite(tmp_path / "s", n=2))
    store = Store(tmp_path / "fg.db")
    template = PromptTemplate(
        system="Shout.", template="Q: {{ prompt }}", shots=[{"input": "a", "output": "A"}]
    )
    run_suites(template.wrap(CallableSystem(echo)), [suite], store, RunOptions(progress=False))
    roles = [(m.role, m.content) for m in seen[0]]
    assert roles == [
        ("system", "Shout."),
        ("user", "Q: a"),
        ("assistant", "A"),
        ("user", "Q: word0"),
    ]
    run_suites(CallableSystem(echo), [suite], store, RunOptions(progress=False))
    assert len(seen) == 4  # another system: nothing answered from the first one's cache


def test_multiple_choice_suite_on_a_real_tiny_model(tmp_path, tiny_llama):
    folder = tmp_path / "mc"
    folder.mkdir()
    (folder / "suite.yaml").write_text(
        "id: test/mc\nversion: 1\nkind: regression\ntask: multiple_choice\n"
        "source: {path: cases.jsonl}\nprompt: 'Q: {{ input }}\\nA:'\n"
        "scorers: [{name: choice_accuracy}]\n"
    )
    rows = [
        {"id": f"m{i}", "input": f"pick {i}", "choices": ["yes", "no", "maybe"], "answer": i % 3}
        for i in range(6)
    ]
    (folder / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    suite = load_suite(folder)
    model = HFModel(str(tiny_llama))
    result = run_suites(model, [suite], Store(tmp_path / "fg.db"), RunOptions(progress=False))
    records = Store(tmp_path / "fg.db").records(result.run_id)
    from finegate.harness import LoglikelihoodRequest, Message

    for record, row in zip(records, rows, strict=True):
        context = (Message("user", f"Q: {row['input']}\nA:"),)
        lps = [
            model.loglikelihood([LoglikelihoodRequest(context, " " + c)])[0].logprob
            for c in row["choices"]
        ]
        assert record["output"]["choice"] == max(range(3), key=lambda j: lps[j])
        assert record["scores"]["choice_accuracy"] == float(
            record["output"]["choice"] == row["answer"]
        )


def _finegate(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "finegate.harness.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_kill_9_then_the_same_command_resumes_with_equal_metrics(tmp_path, tiny_llama):
    suite = make_suite(
        tmp_path / "s", n=120, yaml_text=SUITE.replace("max_new_tokens: 8", "max_new_tokens: 48")
    )
    env = {**os.environ, "FINEGATE_HOME": str(tmp_path / "home")}
    store = tmp_path / "killed.db"
    cmd = [
        sys.executable,
        "-m",
        "finegate.harness.cli",
        "eval",
        "--model",
        str(tiny_llama),
        "--suite",
        str(suite),
        "--store",
        str(store),
        "--batch-size",
        "4",
        "--json",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    committed = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if store.exists():
            try:
                with sqlite3.connect(store) as conn:
                    committed = conn.execute("SELECT count(*) FROM records").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if committed >= 32:
                break
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 32 <= committed < 120
    again = _finegate(
        "eval",
        "--model",
        str(tiny_llama),
        "--suite",
        str(suite),
        "--store",
        str(store),
        "--batch-size",
        "4",
        "--json",
        env=env,
    )
    assert again.returncode == 0, again.stderr
    resumed = json.loads(again.stdout)
    assert resumed["resumed"] is True
    assert resumed["timings"]["computed"] + resumed["timings"]["cache_hits"] <= 120 - 32
    fresh = _finegate(
        "eval",
        "--model",
        str(tiny_llama),
        "--suite",
        str(suite),
        "--store",
        str(tmp_path / "fresh.db"),
        "--batch-size",
        "4",
        "--json",
        env=env,
    )
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads(fresh.stdout)["metrics"] == resumed["metrics"]


def test_identical_requests_in_one_chunk_are_cached_once(tmp_path):
    import json as _json

    from finegate.harness import CallableSystem, RunOptions, Store, load_suite, run_suites

    (tmp_path / "suite.yaml").write_text(
        "id: test/twice\nversion: 1\nkind: task\nsource: {path: cases.jsonl}\n"
        "scorers:\n  - name: exact_match\n"
    )
    rows = [{"id": f"c{i}", "input": "same question", "references": ["yes"]} for i in range(3)]
    (tmp_path / "cases.jsonl").write_text("".join(_json.dumps(r) + "\n" for r in rows))
    calls = []

    def answer(prompt):
        calls.append(prompt)
        return "yes"

    store = Store(tmp_path / "fg.db")
    result = run_suites(
        CallableSystem(answer), [load_suite(tmp_path)], store, RunOptions(progress=False)
    )
    assert len(store.records(result.run_id)) == 3 and store.cache_size() == 1
    assert {m.name: m.value for m in result.metrics["test/twice"]}["exact_match"] == 1.0
