"""The pytest plugin, run by pytest itself on stored runs."""

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from finegate.harness import CallableSystem, RunOptions, Store, resolve_suite, run_suites

from .conftest import write_policy

EXAMPLES = Path(__file__).parents[2] / "gates" / "examples" / "test_triage_gates.py"


def _args(runs, policy, *more):
    return [
        "--finegate-policy",
        str(policy),
        "--finegate-run",
        runs.good,
        "--finegate-store",
        str(runs.store_path),
        "-p",
        "no:cacheprovider",
        *more,
    ]


def test_each_gate_is_an_item_and_failures_explain_themselves(pytester, runs, tmp_path):
    policy = write_policy(
        tmp_path / "policy.yaml",
        "  - {id: acc-floor, suite: test/triage, metric: category.accuracy, "
        "min: 0.5}\n"
        "  - {id: acc-high, suite: test/triage, metric: category.accuracy, "
        "min: 0.99}\n"
        "  - {id: f1-soft, suite: test/triage, metric: category.macro_f1, "
        "min: 0.99, severity: warn}\n"
        "  - {id: no-drop, suite: test/triage, metric: category.accuracy, "
        "margin: 0.01}\n",
    )
    junit = tmp_path / "gates.xml"
    result = pytester.runpytest(
        *_args(runs, policy, "--finegate-baseline", runs.baseline, f"--junitxml={junit}", "-rA")
    )
    result.assert_outcomes(passed=3, failed=1, warnings=1)
    out = result.stdout.str()
    assert "GateWarning: f1-soft: WARN" in out
    assert "acc-high: FAIL: lower_bound" in out
    assert "observed category.accuracy = 0.9500, 95% CI [" in out and "n=60" in out
    assert "worst cases: t000 (0.0)" in out
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == {"acc-floor", "acc-high", "f1-soft", "no-drop"}
    assert cases["acc-high"].find("failure") is not None
    assert cases["acc-floor"].find("failure") is None
    (stored,) = runs.store.verdicts(run_id=runs.good)
    assert stored["status"] == "fail"


def test_missing_metric_is_an_error_not_a_pass(pytester, runs, tmp_path):
    policy = write_policy(
        tmp_path / "policy.yaml",
        "  - {id: typo, suite: test/triage, metric: category.acuracy, min: 0.5}\n",
    )
    result = pytester.runpytest(*_args(runs, policy))
    result.assert_outcomes(failed=1)
    assert "typo: ERROR: metric 'category.acuracy' is not in suite" in result.stdout.str()


def test_bad_options_are_usage_errors(pytester, runs, tmp_path):
    result = pytester.runpytest(
        "--finegate-policy",
        str(tmp_path / "nope.yaml"),
        "--finegate-run",
        runs.good,
        "--finegate-store",
        str(runs.store_path),
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    packs = "(default, demo, general-capability, preference, regulated)"
    assert f"no such file or built-in pack {packs}" in result.stderr.str()
    policy = write_policy(
        tmp_path / "p.yaml", "  - {id: a, suite: test/triage, metric: x, min: 0.5}\n"
    )
    no_run = pytester.runpytest("--finegate-policy", str(policy))
    assert no_run.ret == pytest.ExitCode.USAGE_ERROR
    assert "needs --finegate-run" in no_run.stderr.str()


@pytest.fixture(scope="module")
def triage_runs(tmp_path_factory):
    """A perfect and a sloppy rules system on the built-in triage suite."""
    suite = resolve_suite("task/support_triage")
    answers = {suite.render_prompt(c): c.references[0] for c in suite.cases}

    def perfect(prompt):
        return answers[prompt[-1].content]

    def sloppy(prompt):
        target = json.loads(answers[prompt[-1].content])
        if target["priority"] == "urgent":
            target["priority"] = "low"
        return json.dumps(target)

    store_path = tmp_path_factory.mktemp("triage") / "fg.db"
    store = Store(store_path)
    options = RunOptions(progress=False)
    good = run_suites(CallableSystem(perfect), [suite], store, options).run_id
    bad = run_suites(CallableSystem(sloppy), [suite], store, options).run_id
    return store_path, good, bad


def test_the_hand_written_examples(pytester, triage_runs):
    store_path, good, bad = triage_runs
    shutil.copy(EXAMPLES, pytester.path / "test_triage_gates.py")
    common = ["--finegate-store", str(store_path), "-p", "no:cacheprovider"]
    ok = pytester.runpytest("--finegate-run", good, "--finegate-baseline", good, *common)
    ok.assert_outcomes(passed=3)
    urgent_as_low = pytester.runpytest("--finegate-run", bad, "--finegate-baseline", good, *common)
    urgent_as_low.assert_outcomes(passed=2, failed=1)
    assert "urgent tickets triaged as low" in urgent_as_low.stdout.str()


def test_approvals_are_the_signed_ones_and_the_verdict_is_signed(pytester, release, tmp_path):
    runs = release.runs
    policy = write_policy(
        tmp_path / "policy.yaml",
        "  - {id: signed-off, check: approval, approvers: [risk-officer]}\n",
    )
    trusted = (*_args(runs, policy), "--finegate-trust-root", str(release.trust))
    before = pytester.runpytest(*trusted)
    before.assert_outcomes(failed=1)
    register = ["registry", "register", "triage", "--run", runs.good, "--key", release.key("ci")]
    assert release.cli(*register, trust=False)[0] == 0
    approve = ["approve", "triage:1", "--key", release.key("ana"), "--reason", "read the report"]
    assert release.cli(*approve)[0] == 0
    untrusted = pytester.runpytest(*_args(runs, policy))  # no trust root: no approval counts
    untrusted.assert_outcomes(failed=1)
    after = pytester.runpytest(*trusted, "--finegate-key", release.key("ci"))
    after.assert_outcomes(passed=1)
    from finegate.harness.registry import envelopes

    fingerprint = runs.store.get_run(runs.good)["fingerprint"]
    assert len(envelopes(runs.store, "verdict", subject=fingerprint)) == 1
