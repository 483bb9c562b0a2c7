"""Nothing reaches an alias without a passing verdict: the whole flow from the CLI."""

import json

import pytest
from click.testing import CliRunner

from finegate.harness import registry as audit
from finegate.harness.cli import cli

from .conftest import write_policy

POLICY = (
    "  - {id: accuracy, suite: test/triage, metric: category.accuracy, min: 0.8}\n"
    "  - {id: risk-approval, check: approval, approvers: [risk-officer]}\n"
)


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize("backend", ["store", "mlflow"])
def test_promotion_needs_a_passing_verdict_for_the_exact_model(runs, tmp_path, backend):
    policy = str(write_policy(tmp_path / "policy.yaml", POLICY))
    registry = "store" if backend == "store" else f"mlflow:sqlite:///{tmp_path / 'mlflow.db'}"
    common = ["--store", str(runs.store_path), "--registry", registry]
    assert run("registry", "register", "triage", "--run", runs.good, *common)[0] == 0
    assert run("registry", "register", "triage", "--run", runs.weak, *common)[0] == 0

    code, out = run("promote", "triage:1", "--to", "production", "--policy", policy, *common)
    assert code == 1 and "no verdict of policy test-policy v1" in out
    assert "no approval recorded by risk-officer" in out

    assert run("gate", "--policy", policy, "--run", runs.good, *common)[0] == 1  # no approval
    code, out = run("promote", "triage:1", "--to", "production", "--policy", policy, *common)
    assert code == 1 and "gate risk-approval: fail: no approval recorded by risk-officer" in out

    assert (
        run("approve", "triage:1", "--by", "risk-officer", "--reason", "read the report", *common)[
            0
        ]
        == 0
    )
    assert run("gate", "--policy", policy, "--run", runs.good, *common)[0] == 0
    code, out = run("promote", "triage:1", "--to", "production", "--policy", policy, *common)
    assert code == 0 and "triage:1 is now 'production'" in out

    # the weak candidate fails its accuracy gate: it cannot take the alias
    assert run("approve", "triage:2", "--by", "risk-officer", "--reason", "ok", *common)[0] == 0
    assert run("gate", "--policy", policy, "--run", runs.weak, *common)[0] == 1
    code, out = run("promote", "triage:2", "--to", "production", "--policy", policy, *common)
    assert code == 1 and "gate accuracy: fail: lower_bound" in out
    shown = json.loads(
        CliRunner().invoke(cli, ["registry", "show", "triage@production", *common, "--json"]).stdout
    )
    assert shown["version"] == 1 and shown["approvals"][0]["by"] == "risk-officer"

    # a changed policy needs a new verdict
    stricter = str(write_policy(tmp_path / "stricter.yaml", POLICY.replace("0.8", "0.81")))
    code, out = run("promote", "triage:1", "--to", "staging", "--policy", stricter, *common)
    assert code == 1 and "no verdict of policy" in out

    chain = audit.records(runs.store)
    actions = [r["action"] for r in chain]
    assert actions.count("register") == 2 and actions.count("promote") == 1
    assert actions.count("verdict") == 3 and actions.count("approve") == 2
    code, out = run("audit", "verify", "--store", str(runs.store_path))
    assert code == 0 and f"audit chain intact: {len(chain)} records" in out


def test_rollback_and_history_from_the_cli(runs, tmp_path):
    policy = str(write_policy(tmp_path / "policy.yaml", POLICY.replace("0.8", "0.7")))
    store = ["--store", str(runs.store_path)]
    for run_id in (runs.good, runs.baseline):
        run("registry", "register", "triage", "--run", run_id, *store)
    for ref, run_id in (("triage:1", runs.good), ("triage:2", runs.baseline)):
        run("approve", ref, "--by", "risk-officer", "--reason", "ok", *store)
        assert run("gate", "--policy", policy, "--run", run_id, *store)[0] == 0
        assert run("promote", ref, "--to", "production", "--policy", policy, *store)[0] == 0
    code, out = run(
        "rollback",
        "--model",
        "triage",
        "--alias",
        "production",
        "--reason",
        "latency incident",
        *store,
    )
    assert code == 0 and "triage@production: 2 -> 1" in out
    code, out = run("registry", "history", "triage", "--alias", "production", *store)
    assert "rollback triage@production -> 1 (was 2)" in out and "latency incident" in out
    code, out = run("rollback", "--model", "triage", "--alias", "production", *store)
    assert code == 2 and "no earlier version" in out


def test_audit_sign_export_and_verify_from_the_cli(runs, tmp_path):
    store = ["--store", str(runs.store_path)]
    policy = str(write_policy(tmp_path / "policy.yaml", POLICY))
    run("gate", "--policy", policy, "--run", runs.good, *store)
    key, pub, sig = tmp_path / "k.pem", tmp_path / "k.pub", tmp_path / "head.json"
    assert run("audit", "keygen", "--private", str(key), "--public", str(pub))[0] == 0
    assert run("audit", "sign", "--key", str(key), "-o", str(sig), *store)[0] == 0
    assert run("audit", "verify", "--public-key", str(pub), "--signature", str(sig), *store)[0] == 0
    bundle = tmp_path / "bundle.json"
    assert run("audit", "export", "-o", str(bundle), "--signature", str(sig), *store)[0] == 0
    data = json.loads(bundle.read_text())
    assert data["evidence"]["runs"][runs.good]["metrics"]["test/triage"]
    code, out = run("audit", "verify", "--bundle", str(bundle), "--public-key", str(pub))
    assert code == 0 and "intact" in out
