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
    code, out = release.cli("audit", "verify", "--checkpoints", release.checkpoints)
    assert code == 0 and f"ok      the hash chain: {len(chain)} records" in out
    assert out.count("ok      ") == 2  # the chain, and the checkpoint the promotion kept
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


def test_audit_checkpoint_prove_export_and_verify_from_the_cli(release, tmp_path):
    runs = release.runs
    ci = ["--key", release.key("ci")]
    release.cli("gate", "--policy", release.policy, "--run", runs.good, *ci, trust=False)
    code, out = release.cli("audit", "checkpoint", *ci, trust=False)
    assert code == 0 and out.startswith("finegate.audit/") and "verifier key: finegate/" in out
    code, out = release.cli("audit", "verify", "--checkpoints", release.checkpoints)
    assert code == 0 and "ok      " + str(release.checkpoints) in out
    proof = tmp_path / "proof.json"
    code, out = release.cli("audit", "prove", "2", "-o", proof, trust=False)
    assert code == 0 and "record 2 in the log of" in out
    pub = str(release.folder / "keys" / "ci.pub.json")
    result = CliRunner().invoke(cli, ["audit", "verify-proof", str(proof), "--public-key", pub])
    assert result.exit_code == 0 and "proven: record 2" in result.output
    other = str(release.folder / "keys" / "eve.pub.json")
    result = CliRunner().invoke(cli, ["audit", "verify-proof", str(proof), "--public-key", other])
    assert result.exit_code == 1 and "signed by no key the reader trusts" in result.output

    bundle = tmp_path / "bundle.json"
    code, out = release.cli("audit", "export", "-o", bundle, *ci, trust=False)
    assert code == 0 and "with a signed checkpoint" in out
    data = json.loads(bundle.read_text())
    assert data["evidence"]["runs"][runs.good]["metrics"]["test/triage"]
    verify = ["audit", "verify", "--bundle", str(bundle), "--trust-root", str(release.trust)]
    result = CliRunner().invoke(cli, verify)
    assert result.exit_code == 0 and "(evidence): signatures and digests" in result.output
    case = data["evidence"]["runs"][runs.good]["records"][0]
    case["output"] = {"text": "edited after the verdict was signed"}
    bundle.write_text(json.dumps(data))
    result = CliRunner().invoke(cli, verify)
    assert result.exit_code == 1 and "are not the ones it signed" in result.output
