"""Nothing reaches an alias but as the release rules say: the whole flow from the CLI."""

import json

import pytest
from click.testing import CliRunner

from finegate.harness import RunOptions, run_suites
from finegate.harness import registry as audit
from finegate.harness.cli import cli

from .conftest import make_suite, rules, rules_text, write_policy


@pytest.mark.parametrize("backend", ["store", "mlflow"])
def test_promotion_follows_the_release_rules(release, tmp_path, backend):
    runs, policy = release.runs, release.policy
    registry = "store" if backend == "store" else f"mlflow:sqlite:///{tmp_path / 'mlflow.db'}"
    reg = ["--registry", registry]
    ci = ["--key", release.key("ci")]
    for run_id in (runs.good, runs.weak):
        code, out = release.cli(
            "registry", "register", "triage", "--run", run_id, *ci, *reg, trust=False
        )
        assert code == 0 and "signed registration" in out

    code, out = release.cli("promote", "triage:1", "--to", "production", *ci, *reg)
    assert code == 1 and "no verdict of policy test-policy v1" in out
    assert "no signed approval of triage:1 by a person holding the role risk-officer" in out

    gate = ["gate", "--policy", policy, "--baseline", runs.baseline, *ci]
    assert release.cli(*gate, "--run", runs.good)[0] == 1  # its approval gate waits for ana
    code, out = release.cli("promote", "triage:1", "--to", "production", *ci, *reg)
    assert code == 1 and "no signed approval of triage:1" in out
    assert "blocking gates did not pass" not in out  # approvals are decided here, not at the gate

    code, out = release.cli(
        "approve", "triage:1", "--key", release.key("ana"), "--reason", "read the report", *reg
    )
    assert code == 0 and "signed by ana (risk-officer)" in out
    code, out = release.cli("promote", "triage:1", "--to", "production", *ci, *reg)
    assert code == 0 and "triage:1 is now 'production'" in out

    # the weak candidate fails its accuracy gate: approved or not, it cannot take the alias
    assert (
        release.cli("approve", "triage:2", "--key", release.key("bob"), "--reason", "ok", *reg)[0]
        == 0
    )
    assert release.cli(*gate, "--run", runs.weak)[0] == 1
    code, out = release.cli("promote", "triage:2", "--to", "production", *ci, *reg)
    assert code == 1 and "blocking gates did not pass: accuracy (fail), not-worse (fail)" in out
    shown = json.loads(
        CliRunner()
        .invoke(
            cli,
            [
                "registry",
                "show",
                "triage@production",
                "--store",
                str(runs.store_path),
                *reg,
                "--json",
            ],
        )
        .stdout
    )
    kinds = sorted(s["kind"] for s in shown["statements"])
    assert shown["version"] == 1 and kinds == ["approval", "promotion", "registration", "verdict"]

    # a stricter policy in the rules needs a new verdict
    stricter = write_policy(
        tmp_path / "stricter.yaml",
        release.policy.read_text().split("gates:\n")[1].replace("0.8", "0.81"),
    )
    assert release.rules(rules_text(f"{{run: {runs.baseline}}}", policy=str(stricter)))[0] == 0
    code, out = release.cli("promote", "triage:1", "--to", "production", *ci, *reg)
    assert code == 1 and "no verdict of policy test-policy v1" in out
    assert "verdicts of other policies do not count" in out

    chain = audit.records(runs.store)
    actions = [r["action"] for r in chain]
    assert actions.count("register") == 2 and actions.count("attest:registration") == 2
    assert actions.count("promote") == 1 and actions.count("attest:promotion") == 1
    assert actions.count("verdict") == 2 and actions.count("attest:verdict") == 2
    assert actions.count("attest:approval") == 2 and actions.count("rules") == 2
    code, out = release.cli("audit", "verify", trust=False)
    assert code == 0 and f"audit chain intact: {len(chain)} records" in out
    code, out = release.cli("registry", "verify", *reg)
    assert code == 0 and "agrees with the signed record" in out


def test_rollback_and_history_from_the_cli(release, tmp_path):
    runs = release.runs
    suite = make_suite(tmp_path / "suite2")
    second = run_suites(rules(15), [suite], runs.store, RunOptions(progress=False)).run_id
    ci = ["--key", release.key("ci")]
    gate = ["gate", "--policy", release.policy, "--baseline", runs.baseline, *ci]
    for ref, run_id in (("triage:1", runs.good), ("triage:2", second)):
        release.cli("registry", "register", "triage", "--run", run_id, *ci, trust=False)
        release.cli("approve", ref, "--key", release.key("ana"), "--reason", "ok")
        release.cli(*gate, "--run", run_id)
        code, out = release.cli("promote", ref, "--to", "production", *ci)
        assert code == 0, out
    rollback = ["rollback", "--model", "triage", "--alias", "production"]
    code, out = release.cli(*rollback, "--reason", "latency incident", *ci)
    assert code == 0 and "triage@production: 2 -> 1" in out
    code, out = release.cli("registry", "history", "triage", "--alias", "production", trust=False)
    assert "rollback triage@production -> 1 (was 2)" in out and "latency incident" in out
    code, out = release.cli(*rollback, *ci)
    assert code == 1 and "no earlier version to roll back to" in out
    code, out = release.cli(*rollback, "--key", release.key("eve"))
    assert code == 1 and "eve holds none of the roles that may promote: ci" in out


def test_audit_sign_export_and_verify_from_the_cli(runs, tmp_path):
    store = ["--store", str(runs.store_path)]

    def run(*args):
        result = CliRunner().invoke(cli, [str(a) for a in args])
        return result.exit_code, result.output

    policy = write_policy(
        tmp_path / "policy.yaml",
        "  - {id: a, suite: test/triage, metric: category.accuracy, min: 0.8}\n",
    )
    run("gate", "--policy", policy, "--run", runs.good, *store)
    key, pub, sig = tmp_path / "k.pem", tmp_path / "k.pub", tmp_path / "head.json"
    assert run("audit", "keygen", "--private", key, "--public", pub)[0] == 0
    assert run("audit", "sign", "--key", key, "-o", sig, *store)[0] == 0
    assert run("audit", "verify", "--public-key", pub, "--signature", sig, *store)[0] == 0
    bundle = tmp_path / "bundle.json"
    assert run("audit", "export", "-o", bundle, "--signature", sig, *store)[0] == 0
    data = json.loads(bundle.read_text())
    assert data["evidence"]["runs"][runs.good]["metrics"]["test/triage"]
    code, out = run("audit", "verify", "--bundle", bundle, "--public-key", pub)
    assert code == 0 and "intact" in out
