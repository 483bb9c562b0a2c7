"""Every gate kind passing and failing, waivers, severities and missing evidence."""

import json
from datetime import date
from pathlib import Path

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


def _run_with_adapter(
    runs, tmp_path, manifest, model="smollm2-135m-instruct", bound=None, keep_adapter=False
):
    """A run of a fine-tune whose adapter folder holds ``manifest`` (as training
    writes it, with the adapter's hash), recorded as the runner records it."""
    from finegate.harness.system import adapter_weights_sha256, training_evidence

    adapter = tmp_path / f"adapter-{len(list(tmp_path.glob('adapter-*')))}"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"peft_type": "LORA"}')
    if manifest is not None:
        manifest = {"adapter_sha256": adapter_weights_sha256(adapter), **manifest}
        (adapter / "training_manifest.json").write_text(json.dumps(manifest))
    suite = runs.store.get_run(runs.good)["suites"]
    inner = {
        "type": "hf",
        "model": model,
        "weights_hash": "ab" * 32,
        "adapter": None if bound and not keep_adapter else str(adapter),
        "fingerprint": "e" * 64,
    }
    system = {"type": "prompted", "name": "x", "fingerprint": "f" * 64, "inner": inner}
    system["training"] = training_evidence(system, bound)
    run_id = runs.store.create_run(
        run_key="k",
        label=None,
        kind="eval",
        suites=suite,
        environment={},
        options={},
        system=system,
    )
    runs.store.finish_run(run_id, status="complete", timings={})
    return run_id


GOVERNANCE = (
    "  - {id: provenance, check: provenance}\n"
    "  - {id: dp, check: dp_if_pii, max: 8}\n"
    "  - {id: eps, check: epsilon, max: 8}\n"
    "  - {id: base, check: base_model, base_model: smollm2-135m-instruct}\n"
)


def test_governance_gates_read_the_training_manifest(runs, tmp_path):
    clean = {
        "dataset": {
            "provenance": {"missing": 0},
            "pii": {"total": 3, "scrubbed": False},
            "counts": {"train": 1000},
        },
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
    other = _run_with_adapter(runs, tmp_path, {**clean, "adapter_sha256": "0" * 64})
    wrong = decide(runs, tmp_path, GOVERNANCE, run=other).gates
    assert wrong[0].status == "error" and "describes another adapter" in wrong[0].message


def _dp_run(runs, tmp_path, *, epsilon=2.0, delta=1e-5, train=1000, repeats=1, secure=False):
    dataset = {
        "pii": {"total": 4, "scrubbed": False},
        "counts": {"train": train},
        "group_privacy": {"max_record_repeats": repeats},
    }
    dp = {"epsilon": epsilon, "delta": delta, "accountant": "prv", "secure_mode": secure}
    return _run_with_adapter(runs, tmp_path, {"dataset": dataset, "dp": dp})


def test_dp_gates_bound_delta_the_group_epsilon_and_the_generator(runs, tmp_path):
    gates = "  - {id: eps, check: epsilon, max: 8}\n  - {id: dp, check: dp_if_pii, max: 3}\n"

    def decided(**kw):
        gates_ = decide(runs, tmp_path, gates, run=_dp_run(runs, tmp_path, **kw)).gates
        return {g.gate_id: g for g in gates_}

    fine = decided()
    assert fine["eps"].status == "pass" and fine["dp"].status == "pass"
    assert fine["eps"].evidence["delta_cap"] == pytest.approx(1e-4)  # 1 / (10 x 1000)
    loose = decided(delta=1 / 1000)  # 1 / N: the loosest value anyone uses
    assert (
        loose["eps"].status == "fail"
        and "delta 0.001 is looser than 0.0001" in loose["eps"].message
    )
    repeated = decided(repeats=3)  # a record left 3 times: 3 x 2.0 = 6.0, above the PII gate's 3
    assert repeated["eps"].status == "pass" and repeated["eps"].observed == pytest.approx(6.0)
    assert repeated["dp"].status == "fail" and "group epsilon 3 x 2 = 6" in repeated["dp"].message
    high = decided(epsilon=5.0)  # dp_if_pii no longer passes at any epsilon
    assert high["dp"].status == "fail" and "epsilon 5 is above the ceiling 3" in high["dp"].message
    secure = gates.replace("max: 8}", "max: 8, require_secure_rng: true}")
    plain = decide(runs, tmp_path, secure, run=_dp_run(runs, tmp_path)).gates[0]
    assert plain.status == "fail" and "not cryptographically secure" in plain.message
    strong = decide(runs, tmp_path, secure, run=_dp_run(runs, tmp_path, secure=True)).gates[0]
    assert strong.status == "pass"
    for bad in ({"epsilon": float("nan")}, {"delta": float("nan")}, {"epsilon": "abc"}):
        unreadable = decided(**bad)  # NaN compares false both ways: never a pass
        assert unreadable["eps"].status == "error" and unreadable["dp"].status == "error"
    explicit = gates.replace("max: 8}", "max: 8, max_delta: 0.01}")
    assert (
        decide(runs, tmp_path, explicit, run=_dp_run(runs, tmp_path, delta=1e-3)).gates[0].status
        == "pass"
    )


def test_approvals(runs, tmp_path):
    gates = "  - {id: approved, check: approval, approvers: [risk-officer, dpo]}\n"
    none = decide(runs, tmp_path, gates)
    assert none.gates[0].status == "fail" and "risk-officer, dpo" in none.gates[0].message
    approvals = [{"by": "risk-officer"}, {"by": "dpo"}]
    assert decide(runs, tmp_path, gates, approvals=approvals).gates[0].status == "pass"


def _trained_on(tmp_path, name, rows):
    from finegate.harness.core import sha256_file

    data = tmp_path / name
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data, {"dataset": {"files": [{"name": name, "sha256": sha256_file(data)}]}}


def test_contamination_is_checked_against_the_fine_tunes_own_training_data(runs, tmp_path):
    from finegate.harness.data import check_contamination
    from finegate.harness.suite import load_suite

    suite = load_suite(runs.suite_dir)
    gate = "  - {id: clean, check: contamination, suite: test/triage, max: 0.0}\n"
    leaky, leaky_manifest = _trained_on(
        tmp_path, "leaky.jsonl", [{"prompt": "request 7", "completion": "shipping"}]
    )
    clean, clean_manifest = _trained_on(
        tmp_path, "clean.jsonl", [{"prompt": "a refund for a lamp", "completion": "billing"}]
    )
    leaky_run = _run_with_adapter(runs, tmp_path, leaky_manifest)
    clean_run = _run_with_adapter(runs, tmp_path, clean_manifest)
    unchecked = decide(runs, tmp_path, gate, run=leaky_run).gates[0]
    assert unchecked.status == "error" and "input file leaky.jsonl" in unchecked.message
    check_contamination(clean, suite, runs.store)  # the other fine-tune's data: does not count
    assert decide(runs, tmp_path, gate, run=leaky_run).gates[0].status == "error"
    check_contamination(leaky, suite, runs.store)
    found = decide(runs, tmp_path, gate, run=leaky_run).gates[0]
    assert found.status == "fail" and found.observed == pytest.approx(1 / 60)
    assert found.evidence["training_data"] == "input file leaky.jsonl"
    passed = decide(runs, tmp_path, gate, run=clean_run).gates[0]
    assert passed.status == "pass" and passed.observed == 0.0
    tolerant = gate.replace("max: 0.0", "max: 0.05")
    assert decide(runs, tmp_path, tolerant, run=leaky_run).gates[0].status == "pass"
    # a later, deliberately blunt check (100-grams, exact matches only) finds nothing
    check_contamination(leaky, suite, runs.store, n=100, near=1.0)
    still = decide(runs, tmp_path, gate, run=leaky_run).gates[0]
    assert still.status == "fail" and still.observed == pytest.approx(1 / 60)
    lone_rows = [{"prompt": "a lamp arrived broken", "completion": "shipping"}]
    lone = _run_with_adapter(runs, tmp_path, _trained_on(tmp_path, "lone.jsonl", lone_rows)[1])
    check_contamination(tmp_path / "lone.jsonl", suite, runs.store, n=100)
    blunt = decide(runs, tmp_path, gate, run=lone).gates[0]
    assert blunt.status == "error" and "1 check(s) with longer n-grams" in blunt.message


def test_a_base_model_has_no_training_evidence_unless_the_policy_exempts_it(runs, tmp_path):
    gates = (
        "  - {id: provenance, check: provenance}\n"
        "  - {id: eps, check: epsilon, max: 8}\n"
        "  - {id: clean, check: contamination, suite: test/triage, max: 0.0}\n"
    )
    strict = decide(runs, tmp_path, gates)  # runs.good: a system with no adapter
    assert [g.status for g in strict.gates] == ["error"] * 3
    assert "finegate eval --manifest" in strict.gates[0].message
    exempt = gates.replace("}\n", ", base_models: not_applicable}\n")
    assert [g.status for g in decide(runs, tmp_path, exempt).gates] == ["pass"] * 3
    lax = load_policy(write_policy(tmp_path / "p.yaml", gates))
    assert "base_models" not in json.dumps(lax.hashed_content())  # old policies keep their hash


def test_gates_read_the_manifest_the_run_recorded_not_the_file_now(runs, tmp_path):
    run = _dp_run(runs, tmp_path, epsilon=7.9)
    gates = "  - {id: eps, check: epsilon, max: 8}\n"
    assert decide(runs, tmp_path, gates, run=run).gates[0].status == "pass"
    path = Path(runs.store.get_run(run)["system"]["training"]["path"])
    edited = json.loads(path.read_text())
    edited["dp"]["epsilon"] = 0.5  # edited after the evaluation
    path.write_text(json.dumps(edited))
    gate = decide(runs, tmp_path, gates, run=run).gates[0]
    assert gate.status == "error" and "changed after run" in gate.message


def test_a_manifest_bound_to_an_endpoint_is_read_like_an_adapters(runs, tmp_path):
    manifest = tmp_path / "bound.json"
    manifest.write_text(json.dumps({"dataset": {"provenance": {"missing": 4}}}))
    run = _run_with_adapter(runs, tmp_path, None, bound=str(manifest))
    gate = decide(runs, tmp_path, "  - {id: p, check: provenance}\n", run=run).gates[0]
    assert gate.status == "fail" and "4 training examples lack provenance" in gate.message
    # a fine-tune evaluated with another adapter's manifest bound to it
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"adapter_sha256": "0" * 64, "dataset": {}, "dp": {}}))
    run = _run_with_adapter(runs, tmp_path, {"dataset": {}}, bound=str(other), keep_adapter=True)
    gate = decide(runs, tmp_path, "  - {id: p, check: provenance}\n", run=run).gates[0]
    assert gate.status == "error" and "describes another adapter" in gate.message


def test_verdicts_are_stored_with_the_policy_hash(runs, tmp_path):
    verdict = decide(runs, tmp_path, f"  - id: acc\n{ACC}    min: 0.5\n")
    (stored,) = runs.store.verdicts(run_id=runs.good)
    assert stored["id"] == verdict.id and stored["policy_hash"] == verdict.policy_hash
    assert stored["status"] == "pass" and stored["gates"][0]["gate_id"] == "acc"
    fingerprint = runs.store.get_run(runs.good)["fingerprint"]
    assert runs.store.verdicts(fingerprint=fingerprint, policy_hash=verdict.policy_hash)


def test_thin_evidence_is_not_decided_on(runs, tmp_path):
    from finegate.harness import RunOptions, load_suite, run_suites

    from .conftest import rules

    suite = load_suite(runs.suite_dir)
    limited = run_suites(rules(20), [suite], runs.store, RunOptions(limit=20, progress=False))
    gate = f"  - id: acc\n{ACC}    min: 0.5\n"
    refused = decide(runs, tmp_path, gate, run=limited.run_id)
    assert refused.status == "error"
    assert refused.gates[0].gate_id == "requires:whole-suite:candidate"
    assert "only the first 20 cases (--limit)" in refused.gates[0].message
    assert refused.gates[1].status == "error" and "the gate needs at least 30" in (
        refused.gates[1].message
    )  # min_n is 30 unless the policy lowers it
    allowed = decide(
        runs,
        tmp_path,
        gate + "    min_n: 20\n",
        run=limited.run_id,
        extra="allow_limited_runs: true\n",
    )
    assert allowed.status == "pass" and [g.gate_id for g in allowed.gates] == ["acc"]
    cut = runs.store.create_run(
        run_key="cut",
        label=None,
        kind="eval",
        system=runs.store.get_run(runs.good)["system"],
        suites=runs.store.get_run(runs.good)["suites"],
        environment={},
        options={},
    )
    unfinished = decide(runs, tmp_path, gate, run=cut)
    assert unfinished.gates[0].gate_id == "requires:complete-run:candidate"
    assert "is running, not complete" in unfinished.gates[0].message


def test_a_zero_width_interval_is_flagged(runs, tmp_path):
    from finegate.gates._engine import ZERO_WIDTH
    from finegate.harness import CallableSystem, RunOptions, load_suite, run_suites

    def right(prompt):
        i = int(prompt[-1].content.split()[-1])
        return ["billing", "shipping", "account_access"][i % 3]

    suite = load_suite(runs.suite_dir)
    perfect = run_suites(
        CallableSystem(right, name="always-right"), [suite], runs.store, RunOptions(progress=False)
    ).run_id
    wilson = decide(runs, tmp_path, f"  - id: acc\n{ACC}    min: 0.5\n", run=perfect).gates[0]
    assert wilson.status == "pass" and wilson.flags == ()  # 60 of 60: Wilson [0.94, 1.0]
    f1 = "  - {id: f1, suite: test/triage, metric: category.macro_f1, min: 0.5}\n"
    (flat,) = decide(runs, tmp_path, f1, run=perfect).gates  # every resample scores 1.0
    assert flat.status == "pass" and flat.ci_low == flat.ci_high == 1.0
    assert flat.flags == (ZERO_WIDTH,) and "note: the interval has zero width" in flat.explain()
