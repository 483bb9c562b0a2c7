"""Monitor gates in a policy: validated with every error at once, and decided
on a look (A/B on anytime-valid bounds, window metrics, drift alarms)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from finegate.gates._monitor import decide_monitor, monitor_margins
from finegate.gates._policy import AB_METRICS, Policy
from finegate.harness.monitor import AB_METRICS as HARNESS_AB_METRICS

POLICY = {
    "id": "watch",
    "version": 1,
    "monitor": [
        {"id": "thumbs", "metric": "thumbs_up", "margin": 0.02},
        {"id": "latency", "arm": "canary", "metric": "latency.p95", "max": 2.0, "min_n": 20},
        {"id": "pii", "arm": "canary", "metric": "log.answer_pii", "max": 0, "decide_on": "point"},
        {"id": "drift", "check": "inputs_vs_suite", "severity": "warn"},
    ],
}


def _ab(lower, upper, decision, non_inferior, margin=0.02):
    return {
        "estimate": (lower + upper) / 2 if lower is not None and upper is not None else -0.1,
        "lower": lower,
        "upper": upper,
        "n_canary": 12,
        "n_production": 30,
        "margin": margin,
        "decision": decision,
        "non_inferior": non_inferior,
        "units": "callers",
    }


def _look(thumbs, latency_ci_high=1.5, pii=0.0, alarm=False, n=40):
    return {
        "arms": {"canary": {}, "production": {}},
        "metrics": {
            "canary": {
                "latency.p95": {"value": 1.2, "n": n, "ci_low": 1.0, "ci_high": latency_ci_high},
                "log.answer_pii": {"value": pii, "n": n, "ci_low": 0.0, "ci_high": 0.09},
            }
        },
        "drift": {
            "inputs_vs_suite": {
                "alarm": alarm,
                "alarming": ["mmd"] if alarm else [],
                "alpha": 0.05,
            },
            "outputs_vs_reference": None,
        },
        "ab": {"metrics": {"thumbs_up": thumbs}},
    }


def test_the_policy_names_the_same_ab_metrics_as_the_monitor():
    assert tuple(HARNESS_AB_METRICS) == AB_METRICS


def test_gate_types_are_inferred_and_every_error_reported_at_once():
    policy = Policy.model_validate(POLICY)
    assert [g.type for g in policy.monitor] == ["ab", "window", "window", "drift"]
    assert monitor_margins(policy) == {"thumbs_up": 0.02}
    with pytest.raises(ValidationError) as e:
        Policy.model_validate(
            {
                "id": "bad",
                "version": 1,
                "monitor": [
                    {"id": "a", "metric": "happiness"},
                    {"id": "b", "arm": "canary", "metric": "latency.p95"},
                    {"id": "c", "check": "vibes"},
                ],
            }
        )
    text = str(e.value)
    assert "happiness" in text and "exactly one of 'min' and 'max'" in text and "vibes" in text
    with pytest.raises(ValidationError, match=r"at least 1 item \(or a monitor: section\)"):
        Policy.model_validate({"id": "empty", "version": 1})


def test_a_policy_without_a_monitor_section_keeps_its_hash():
    plain = {"id": "p", "version": 1, "gates": [{"id": "g", "suite": "s", "metric": "m", "min": 1}]}
    assert (
        Policy.model_validate(plain).hash()
        == Policy.model_validate({**plain, "monitor": []}).hash()
    )


@pytest.mark.parametrize(
    ("thumbs", "status", "thumbs_status"),
    [
        (_ab(-0.4, -0.05, "worse", False), "fail", "fail"),
        (_ab(-0.01, 0.3, "undecided", True), "pass", "pass"),
        (_ab(-0.6, 0.4, "undecided", False), "undecided", "undecided"),
        (_ab(None, None, "undecided", False), "undecided", "undecided"),
        ({"error": "no thumbs_up measured yet in canary"}, "undecided", "undecided"),
    ],
)
def test_ab_gates_read_the_confidence_sequence(thumbs, status, thumbs_status):
    decided, gates = decide_monitor(Policy.model_validate(POLICY), _look(thumbs))
    assert decided == status
    assert {g["gate_id"]: g["status"] for g in gates}["thumbs"] == thumbs_status


def test_window_gates_decide_on_the_pessimistic_bound_and_drift_only_warns():
    policy = Policy.model_validate(POLICY)
    ok = _ab(-0.01, 0.3, "undecided", True)
    status, gates = decide_monitor(policy, _look(ok, latency_ci_high=2.5))
    assert status == "fail" and {g["gate_id"]: g["status"] for g in gates}["latency"] == "fail"
    assert gates[1]["observed"] == 2.5 and gates[1]["threshold"] == 2.0
    status, gates = decide_monitor(policy, _look(ok, pii=0.025))
    assert status == "fail" and gates[2]["status"] == "fail"
    status, gates = decide_monitor(policy, _look(ok, alarm=True))
    assert status == "pass" and gates[3]["status"] == "fail" and gates[3]["severity"] == "warn"
    status, gates = decide_monitor(policy, _look(ok, n=10))
    assert status == "undecided" and "fewer than 20" in gates[1]["detail"]


def test_an_ab_computed_with_another_margin_is_an_error():
    status, gates = decide_monitor(
        Policy.model_validate(POLICY), _look(_ab(-0.01, 0.3, "undecided", True, margin=0.5))
    )
    assert status == "error" and gates[0]["status"] == "error"


def test_a_monitor_only_policy_cannot_gate_a_run(tmp_path):
    from finegate.gates._engine import evaluate
    from finegate.harness.core import InputError

    with pytest.raises(InputError, match="only monitor gates"):
        evaluate(Policy.model_validate(POLICY), None)  # type: ignore[arg-type]
