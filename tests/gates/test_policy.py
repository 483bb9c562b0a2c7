"""Policies: every malformed input named by file, line and field."""

import json

import pytest

from finegate.gates import BaselineGate, GovernanceGate, ThresholdGate, load_policy
from finegate.gates._policy import policy_json_schema
from finegate.harness import InputError
from finegate.policies import builtin_policies, schema_path

GOOD = """\
id: p
version: 2
gates:
  - id: acc
    suite: s
    metric: acc
    min: 0.8
  - id: drop
    suite: s
    metric: acc
    margin: 0.05
    relative: true
  - id: eps
    check: epsilon
    max: 8
  - id: fast
    suite: s
    metric: latency.p95
    max: 2.0
    on: point
waivers:
  - gate: acc
    owner: ana
    reason: known gap on new product line
    expires: 2026-12-31
"""


def test_gate_kinds_are_inferred_and_defaults_are_safe(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(GOOD)
    policy = load_policy(path)
    acc, drop, eps, fast = policy.gates
    assert isinstance(acc, ThresholdGate) and acc.bound == "lower_bound"  # "at least" is safe
    assert isinstance(drop, BaselineGate) and drop.relative
    assert isinstance(eps, GovernanceGate) and eps.max == 8
    assert fast.bound == "point"  # `on:` works although YAML reads the key as true
    assert policy.version == "2" and policy.waiver_for("acc").owner == "ana"
    path.write_text("# a comment changes nothing\n" + GOOD)
    assert load_policy(path).hash() == policy.hash()
    path.write_text(GOOD.replace("min: 0.8", "min: 0.81"))
    assert load_policy(path).hash() != policy.hash()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("    min: 0.8\n", "    min: 0.8\n    max: 0.9\n"),
            ":4: gates[0].threshold: Value error, give exactly one of 'min' and 'max'",
        ),
        (
            GOOD.replace("    metric: acc\n    min: 0.8\n", "    min: 0.8\n"),
            ":4: gates[0].threshold.metric: required field is missing",
        ),
        (
            GOOD.replace("check: epsilon", "check: epsilom"),
            ":14: gates[2].governance.check: Input should be 'provenance', 'dp_if_pii'",
        ),
        (
            GOOD.replace("    max: 8\n", ""),
            ":13: gates[2].governance: Value error, check 'epsilon' needs max",
        ),
        (
            GOOD.replace("  - id: drop", "  - id: acc"),
            ":3: gates: Value error, gate ids must be unique: acc",
        ),
        (
            GOOD.replace("  - gate: acc", "  - gate: acx"),
            ":21: waivers: Value error, waivers name unknown gates: acx",
        ),
        (
            GOOD.replace("expires: 2026-12-31", "expires: someday"),
            ":25: waivers[0].expires: Input should be a valid date",
        ),
        (GOOD.replace("version: 2", "version: 2\ncolour: red"), ":3: colour: unknown field"),
        (
            GOOD.replace("    relative: true\n", "    relative: true\n    severity: fatal\n"),
            ":13: gates[1].baseline.severity: Input should be 'block' or 'warn'",
        ),
    ],
)
def test_malformed_policies_are_located(tmp_path, text, expected):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_policy(path)
    assert any(
        line.startswith(str(path)) and expected in line for line in str(err.value).splitlines()
    ), str(err.value)


def test_every_problem_at_once(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(GOOD.replace("min: 0.8", "min: high").replace("check: epsilon", "check: x"))
    with pytest.raises(InputError) as err:
        load_policy(path)
    assert len(err.value.problems) >= 2


def test_builtin_packs_load_and_the_schema_file_is_current():
    packs = builtin_policies()
    assert set(packs) == {"default", "demo", "general-capability", "preference", "regulated"}
    assert load_policy("default").id == "default"
    regulated = load_policy("regulated")
    checks = {g.check for g in regulated.gates if isinstance(g, GovernanceGate)}
    assert {"dp_if_pii", "epsilon", "approval", "provenance"} <= checks
    assert json.loads(schema_path().read_text()) == policy_json_schema()


def test_the_preference_pack_holds_a_dpo_version_to_its_sft_version():
    """Against the SFT version: the task and safety within the default margins, and
    longer answers flagged (a warning), never the training objective itself."""
    policy = load_policy("preference")
    gates = {g.id: g for g in policy.gates}
    assert set(policy.suites) == {"task/support_triage", "safety/core"}
    assert all(g.type == "baseline" for g in gates.values())
    assert (gates["task-not-worse-than-sft"].metric, gates["task-not-worse-than-sft"].margin) == (
        "category.accuracy",
        0.02,
    )
    longer = gates["not-longer-than-sft"]
    assert (longer.metric, longer.relative, longer.higher_is_better, longer.severity) == (
        "tokens.completion",
        True,
        False,
        "warn",
    )
    assert not any("preference" in g.metric or "reward" in g.metric for g in policy.gates)
