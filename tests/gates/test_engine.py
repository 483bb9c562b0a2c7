"""Every gate kind passing and failing, waivers, severities and missing evidence."""

import json
from datetime import date

import pytest

from finegate.gates import check_policy, load_policy
from finegate.harness.stats import wilson_interval

from .conftest import write_policy

ACC = "    suite: test/triage\n    metric: category.accuracy\n"


def decide(runs, tmp_path, gates, run=None, baseline=None, extra="", **kw):
    policy = load_policy(write_policy(tmp_path / "p.yaml", gates, extra))
    return check_policy(policy, runs.store, run or runs.good, baseline, **kw)


def test_threshold_decided_on_the_lower_bound_by_default(runs, tmp_path):
    low, high = wilson_interval(57, 60)  # the good run: 57 of 60 right
    verdict = decide(runs, tmp_path, f"  - id: acc\n{ACC}    min: {low - 0.01:.4f}\n")
    (gate,) = verdict.gates
    assert gate.status == "pass" and verdict.status == "pass"
    assert gate.observed == pytest.approx(0.95) and gate.n == 60
    assert (gate.ci_low, gate.ci_high) == pytest.approx((low, high))
    assert gate.decided_on == pytest.approx(low) and gate.bound == "lower_bound"
    # the point estimate clears 0.9, the pessimistic bound does not
    strict = decide(runs, tmp_path, f"  - id: acc\n{ACC}    min: 0.9\n")
    assert strict.gates[0].status == "fail" and strict.status == "fail"
    worst = strict.gates[0].evidence["worst_cases"]
    assert [w["case_id"] for w in worst] == ["t000", "t020", "t040"]  # only the wrong ones
    assert all(w["score"] == 0.0 for w in worst)
    point = decide(runs, tmp_path, f"  - id: acc\n{ACC}    min: 0.9\n    decide_on: point\n")
    assert point.gates[0].status == "pass"


def test_max_threshold_and_corpus_metrics(runs, tmp_path):
    gates = (
        "  - id: fast\n    suite: test/triage\n    metric: latency.p95\n    max: 5.0\n"
        "  - id: f1\n    suite: test/triage\n    metric: category.macro_f1\n    min: 0.99\n"
    )
    verdict = decide(runs, tmp_path, gates)
    fast, f1 = verdict.gates
    assert fast.status == "pass" and fast.bound == "upper_bound" and fast.comparator == "<="
    assert f1.status == "fail" and f1.observed < 0.99


def test_missing_metric_suite_and_too_few_cases_are_errors(runs, tmp_path):
    gates = (
        "  - id: typo\n    suite: test/triage\n    metric: category.acuracy\n    min: 0.5\n"
        "  - id: nosuite\n    suite: task/other\n    metric: x\n    min: 0.5\n"
        f"  - id: few\n{ACC}    min: 0.5\n    min_n: 100\n"
    )
    verdict = decide(runs, tmp_path, gates)
    typo, nosuite, few = verdict.gates
    assert typo.status == "error" and "not in suite 'test/triage'" in typo.message
    assert "category.accuracy" in typo.message  # says what is available
    assert nosuite.status == "error" and "has no suite 'task/other'" in nosuite.message
    assert few.status == "error" and "only 60 cases scored" in few.message
    assert verdict.status == "error"


def test_policy_requires_its_suites(runs, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        f"id: p\nversion: 1\nsuites: [test/triage, safety/core]\ngates:\n"
        f"  - id: acc\n{ACC}    min: 0.1\n"
    )
    verdict = check_policy(load_policy(path), runs.store, runs.good)
    assert verdict.gates[0].gate_id == "requires:safety/core"
    assert verdict.gates[0].status == "error" and verdict.status == "error"


def test_baseline_gate_non_inferiority(runs, tmp_path):
    gate = f"  - id: nodrop\n{ACC}    margin: 0.02\n"
    better = decide(runs, tmp_path, gate, run=runs.good, baseline=runs.baseline)
    (g,) = better.gates
    assert g.status == "pass" and g.observed == pytest.approx(0.05) and g.n == 60
    assert "mcnemar-exact" in g.test and g.threshold == -0.02
    worse = decide(runs, tmp_path, gate, run=runs.weak, baseline=runs.baseline)
    (w,) = worse.gates
    assert w.status == "fail" and w.observed == pytest.approx(-0.4)
    # right for the baseline, wrong now: the even tickets that are not multiples of 10
    assert w.evidence["worse_count"] == 24 and len(w.evidence["worse_cases"]) == 20
    missing = decide(runs, tmp_path, gate)
    assert missing.gates[0].status == "error" and "give one" in missing.gates[0].message


def test_relative_margin_scales_with_the_baseline(runs, tmp_path):
    # weak vs good: -0.45; relative margin 0.5 of 0.95 allows up to -0.475 at the CI bound
    loose = decide(
        runs,
        tmp_path,
        f"  - id: rel\n{ACC}    margin: 0.9\n    relative: true\n",
        run=runs.weak,
        baseline=runs.good,
    )
    assert loose.gates[0].status == "pass" and loose.gates[0].relative
    tight = decide(
        runs,
        tmp_path,
        f"  - id: rel\n{ACC}    margin: 0.05\n    relative: true\n",
        run=runs.weak,
        baseline=runs.good,
    )
    assert tight.gates[0].status == "fail"


def test_baseline_gate_on_the_point_or_the_interval(runs, tmp_path):
    # baseline (0.90) against good (0.95): three tickets lost, -0.05, a relative -5.3%;
    # a 6% relative margin allows -0.057: the point is inside, the interval is not
    gate = f"  - id: rel\n{ACC}    margin: 0.06\n    relative: true\n"
    shown = decide(runs, tmp_path, gate, run=runs.baseline, baseline=runs.good)
    (g,) = shown.gates
    assert g.status == "fail" and g.bound == "lower_bound" and g.decided_on < -0.057
    assert g.evidence["relative_change"] == pytest.approx(-0.05 / 0.95)
    lo, hi = g.evidence["relative_ci"]
    assert lo < -0.05 / 0.95 < hi
    point = decide(
        runs, tmp_path, gate + "    decide_on: point\n", run=runs.baseline, baseline=runs.good
    )
    (p,) = point.gates
    assert p.status == "pass" and p.bound == "point"
    assert p.decided_on == pytest.approx(-0.05) and p.threshold == pytest.approx(-0.057)


def test_warn_severity_and_waivers(runs, tmp_path):
    gates = (
        f"  - id: soft\n{ACC}    min: 0.99\n    severity: warn\n"
        f"  - id: waived\n{ACC}    min: 0.99\n"
        f"  - id: expired\n{ACC}    min: 0.99\n"
    )
    waivers = (
        "waivers:\n"
        "  - {gate: waived, owner: ana, reason: new product line, expires: 2026-12-31}\n"
        "  - {gate: expired, owner: bo, reason: old excuse, expires: 2026-11-01}\n"
    )
    verdict = decide(runs, tmp_path, gates, extra=waivers, today=date(2026, 11, 22))
    soft, waived, expired = verdict.gates
    assert soft.status == "warn"
    assert waived.status == "waived" and waived.waiver["owner"] == "ana"
    assert (
        expired.status == "fail"
        and "expired on 2026-11-01 and no longer applies" in expired.message
    )
    assert verdict.status == "fail" and [g.gate_id for g in verdict.blocking] == ["expired"]
    later = decide(runs, tmp_path, gates, extra=waivers, today=date(2027, 1, 1))
    assert later.gates[1].status == "fail"


def _run_with_adapter(runs, tmp_path, manifest, model="smollm2-135m-instruct"):
    adapter = tmp_path / f"adapter-{len(list(tmp_path.glob('adapter-*')))}"
    adapter.mkdir()
    if manifest is not None:
        (adapter / "training_manifest.json").write_text(json.dumps(manifest))
    suite = runs.store.get_run(runs.good)["suites"]
    return runs.store.create_run(
        run_key="k",
        label=None,
        kind="eval",
        suites=suite,
        environment={},
        options={},
        system={
            "type": "prompted",
            "name": "x",
            "fingerprint": "f" * 64,
            "inner": {
                "type": "hf",
                "model": model,
                "weights_hash": "ab" * 32,
                "adapter": str(adapter),
                "fingerprint": "e" * 64,
            },
        },
    )


GOVERNANCE = (
    "  - {id: provenance, check: provenance}\n"
    "  - {id: dp, check: dp_if_pii}\n"
    "  - {id: eps, check: epsilon, max: 8}\n"
    "  - {id: base, check: base_model, base_model: smollm2-135m-instruct}\n"
)


def test_governance_gates_read_the_training_manifest(runs, tmp_path):
    clean = {
        "dataset": {"provenance": {"missing": 0}, "pii": {"total": 3, "scrubbed": False}},
        "dp": {"epsilon": 7.9, "delta": 1e-5, "accountant": "prv"},
    }
    run = _run_with_adapter(runs, tmp_path, clean)
    statuses = {g.gate_id: g.status for g in decide(runs, tmp_path, GOVERNANCE, run=run).gates}
    assert statuses == {"provenance": "pass", "dp": "pass", "eps": "pass", "base": "pass"}
    risky = {"dataset": {"provenance": {"missing": 12}, "pii": {"total": 3}}}
    run = _run_with_adapter(runs, tmp_path, risky, model="other-base")
    gates = {g.gate_id: g for g in decide(runs, tmp_path, GOVERNANCE, run=run).gates}
    assert (
        gates["provenance"].status == "fail"
        and "12 training examples" in gates["provenance"].message
    )
    assert gates["dp"].status == "fail" and "without differential privacy" in gates["dp"].message
    assert gates["eps"].status == "fail" and gates["base"].status == "fail"
    run = _run_with_adapter(runs, tmp_path, None)
    missing = decide(runs, tmp_path, GOVERNANCE, run=run).gates
    assert missing[0].status == "error" and "training_manifest.json not found" in missing[0].message


def test_approvals_and_contamination(runs, tmp_path):
    from finegate.harness.data import check_contamination
    from finegate.harness.suite import load_suite

    gates = (
        "  - {id: approved, check: approval, approvers: [risk-officer, dpo]}\n"
        "  - {id: clean, check: contamination, suite: test/triage, max: 0.0}\n"
    )
    none = decide(runs, tmp_path, gates)
    assert none.gates[0].status == "fail" and "risk-officer, dpo" in none.gates[0].message
    assert none.gates[1].status == "error" and "finegate contamination" in none.gates[1].message
    train = tmp_path / "train.jsonl"
    train.write_text(json.dumps({"prompt": "request 7", "completion": "shipping"}) + "\n")
    check_contamination(train, load_suite(runs.suite_dir), runs.store)
    approvals = [{"by": "risk-officer"}, {"by": "dpo"}]
    later = decide(runs, tmp_path, gates, approvals=approvals)
    assert later.gates[0].status == "pass"
    assert later.gates[1].status == "fail" and later.gates[1].observed == pytest.approx(1 / 60)
    assert later.gates[1].evidence["contamination_run_id"]
    tolerant = decide(
        runs, tmp_path, "  - {id: clean, check: contamination, suite: test/triage, max: 0.05}\n"
    )
    assert tolerant.gates[0].status == "pass"


def test_verdicts_are_stored_with_the_policy_hash(runs, tmp_path):
    verdict = decide(runs, tmp_path, f"  - id: acc\n{ACC}    min: 0.5\n")
    (stored,) = runs.store.verdicts(run_id=runs.good)
    assert stored["id"] == verdict.id and stored["policy_hash"] == verdict.policy_hash
    assert stored["status"] == "pass" and stored["gates"][0]["gate_id"] == "acc"
    fingerprint = runs.store.get_run(runs.good)["fingerprint"]
    assert runs.store.verdicts(fingerprint=fingerprint, policy_hash=verdict.policy_hash)
