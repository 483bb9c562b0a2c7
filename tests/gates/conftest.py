"""Stored runs with known metrics, made by rules-based systems (no model needed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# -- a release set up as a team would: keys, a pinned trust root, signed rules ----------

RELEASE_POLICY = (
    "  - {id: accuracy, suite: test/triage, metric: category.accuracy, min: 0.8}\n"
    "  - {id: not-worse, suite: test/triage, metric: category.accuracy, margin: 0.1}\n"
    "  - {id: risk-approval, check: approval, approvers: [risk-officer]}\n"
)


@dataclass
class Release:
    runs: Runs
    folder: Path
    trust: Path
    policy: Path
    checkpoints: Path  # FINEGATE_CHECKPOINTS: kept outside the store, as a team would

    def key(self, name: str) -> str:
        return str(self.folder / "keys" / f"{name}.key")

    def cli(self, *args: Any, trust: bool = True) -> tuple[int, str]:
        from click.testing import CliRunner

        from finegate.harness.cli import cli

        extra = ["--store", str(self.runs.store_path)]
        if trust:
            extra += ["--trust-root", str(self.trust)]
        result = CliRunner().invoke(cli, [str(a) for a in args] + extra)
        return result.exit_code, result.output

    def rules(self, text: str) -> tuple[int, str]:
        """Sign and adopt a rules spec with the root key."""
        spec = self.folder / "rules.yaml"
        spec.write_text(text)
        envelope = self.folder / "rules.json"
        code, out = self.cli("rules", "sign", spec, "--key", self.key("root"), "-o", envelope)
        assert code == 0, out
        return self.cli("rules", "apply", envelope)


def rules_text(baseline: str, policy: str = "policy.yaml", alias: str = "production") -> str:
    return f"""\
keyring:
  people:
    ci: {{roles: [ci], keys: [keys/ci.pub.json]}}
    ana: {{roles: [risk-officer], keys: [keys/ana.pub.json]}}
    bob: {{roles: [risk-officer], keys: [keys/bob.pub.json]}}
    eve: {{roles: [], keys: [keys/eve.pub.json]}}
rules:
  - model: triage
    alias: {alias}
    policy: {policy}
    baseline: {baseline}
"""


@pytest.fixture
def release(runs: Runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Release:
    """Runs, keys for root, ci, ana and bob (risk officers) and eve (no role), a
    trust root pinning the root key, rules holding triage@production to the
    release policy against the pinned baseline run, and a checkpoint folder."""
    from finegate.harness.registry.trust import create_key, load_public_key, write_trust_root

    folder = tmp_path / "release"
    for name in ("root", "ci", "ana", "bob", "eve"):
        create_key(folder / "keys", name)
    trust = folder / "trust-root.json"
    write_trust_root(trust, [load_public_key(folder / "keys" / "root.pub.json")], 1)
    policy = write_policy(folder / "policy.yaml", RELEASE_POLICY)
    checkpoints = tmp_path / "checkpoints"
    monkeypatch.setenv("FINEGATE_CHECKPOINTS", str(checkpoints))
    made = Release(runs, folder, trust, policy, checkpoints)
    code, out = made.rules(rules_text(f"{{run: {runs.baseline}}}"))
    assert code == 0, out
    return made
