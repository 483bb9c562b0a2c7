"""``finegate gate``: exit codes 0, 1 and 2, JSON and JUnit output."""

import json
from xml.etree import ElementTree as ET

from click.testing import CliRunner

from finegate.harness.cli import cli

from .conftest import write_policy


def gate(*args):
    return CliRunner().invoke(cli, ["gate", *args])


def test_exit_codes_json_and_junit(runs, tmp_path):
    policy = write_policy(
        tmp_path / "p.yaml",
        "  - {id: acc, suite: test/triage, metric: category.accuracy, min: 0.8}\n",
    )
    store = ["--store", str(runs.store_path)]
    ok = gate("--policy", str(policy), "--run", runs.good, *store, "--json")
    assert ok.exit_code == 0
    data = json.loads(ok.stdout)
    assert data["status"] == "pass" and data["gates"][0]["observed"] == 0.95
    junit = tmp_path / "g.xml"
    failed = gate("--policy", str(policy), "--run", runs.weak, *store, "--junit", str(junit))
    assert failed.exit_code == 1
    assert "acc: FAIL" in failed.output and "overall: FAIL" in failed.output
    (case,) = ET.parse(junit).getroot().iter("testcase")
    assert case.get("name") == "acc" and case.find("failure") is not None
    errored = gate("--policy", str(policy), "--run", runs.good, *store, "--baseline", "nope")
    assert errored.exit_code == 2 and "no run 'nope'" in errored.output
    bad_policy = tmp_path / "bad.yaml"
    bad_policy.write_text("id: x\nversion: 1\ngates:\n  - {id: a, metric: m, min: 1}\n")
    malformed = gate("--policy", str(bad_policy), "--run", runs.good, *store)
    assert malformed.exit_code == 2
    assert (
        f"{bad_policy}:4: gates[0].threshold.suite: required field is missing" in malformed.output
    )
    missing_metric = write_policy(
        tmp_path / "m.yaml", "  - {id: m, suite: test/triage, metric: nope, min: 0.1}\n"
    )
    undecided = gate("--policy", str(missing_metric), "--run", runs.good, *store)
    assert undecided.exit_code == 2 and "overall: ERROR" in undecided.output


def test_policy_check_and_list(tmp_path):
    runner = CliRunner()
    listed = json.loads(runner.invoke(cli, ["policy", "list", "--json"]).stdout)
    assert {r["name"] for r in listed} == {
        "default",
        "demo",
        "general-capability",
        "preference",
        "regulated",
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nversion: 1\ngates: []\n")
    checked = runner.invoke(cli, ["policy", "check", "default", str(bad)])
    assert checked.exit_code == 2
    assert "default: ok (default v2" in checked.output
    assert f"{bad}:3: gates: List should have at least 1 item" in checked.output
