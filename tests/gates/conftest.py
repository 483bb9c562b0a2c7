"""Stored runs with known metrics, made by rules-based systems (no model needed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from finegate.harness import CallableSystem, RunOptions, Store, load_suite, run_suites

SUITE = """\
id: test/triage
version: 1
kind: task
source: {path: cases.jsonl}
scorers:
  - {name: label_accuracy, as: category, args: {label: category}}
  - {name: latency}
"""
N = 60


def make_suite(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "suite.yaml").write_text(SUITE)
    cats = ["billing", "shipping", "account_access"]
    rows = [
        {"id": f"t{i:03d}", "input": f"request {i}", "labels": {"category": cats[i % 3]}}
        for i in range(N)
    ]
    (folder / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return load_suite(folder)


def rules(wrong_every: int) -> CallableSystem:
    """Right except on every ``wrong_every``-th ticket: accuracy 1 - 1/wrong_every."""

    def answer(prompt):
        i = int(prompt[-1].content.split()[-1])
        return "wrong" if i % wrong_every == 0 else ["billing", "shipping", "account_access"][i % 3]

    return CallableSystem(answer, name=f"rules-{wrong_every}", version=str(wrong_every))


@dataclass
class Runs:
    store_path: Path
    store: Store
    suite_dir: Path
    good: str  # accuracy 0.95 (wrong every 20th)
    weak: str  # accuracy 0.5 (wrong every 2nd)
    baseline: str  # accuracy 0.9 (wrong every 10th)


@pytest.fixture
def runs(tmp_path) -> Runs:
    suite = make_suite(tmp_path / "suite")
    store = Store(tmp_path / "fg.db")
    options = RunOptions(progress=False)
    good = run_suites(rules(20), [suite], store, options).run_id
    weak = run_suites(rules(2), [suite], store, options).run_id
    baseline = run_suites(rules(10), [suite], store, options).run_id
    return Runs(tmp_path / "fg.db", store, tmp_path / "suite", good, weak, baseline)


def write_policy(path: Path, gates: str, extra: str = "") -> Path:
    path.write_text(f"id: test-policy\nversion: 1\nsuites: [test/triage]\ngates:\n{gates}{extra}")
    return path
