"""Paired comparison: hand-computed tests and end-to-end on stored runs."""

import json

import numpy as np
import pytest

from finegate.harness import CallableSystem, InputError, RunOptions, Store, load_suite, run_suites
from finegate.harness.compare import compare_runs
from finegate.harness.stats import mcnemar_exact, paired_bootstrap

SUITE = """\
id: test/classify
version: 1
kind: task
source: {path: cases.jsonl}
scorers:
  - name: label_accuracy
    as: label
    args: {label: topic}
  - name: answer_tokens
    as: tokens
"""


def make_suite(folder, n=40, version="1"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "suite.yaml").write_text(SUITE.replace("version: 1", f"version: {version}"))
    topics = ["billing", "shipping"]
    rows = [
        {"id": f"c{i:02d}", "input": f"request {i}", "labels": {"topic": topics[i % 2]}}
        for i in range(n)
    ]
    (folder / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return load_suite(folder)


def test_mcnemar_exact_against_a_hand_computed_table():
    # discordant 10 vs 2: p = 2 * P(X <= 2 | n=12, 1/2) = 2 * (1 + 12 + 66) / 4096
    assert mcnemar_exact(10, 2) == pytest.approx(158 / 4096)
    assert mcnemar_exact(2, 10) == mcnemar_exact(10, 2)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)


def test_paired_bootstrap_is_seeded():
    rng = np.random.default_rng(1)
    a = rng.random(50)
    b = a + 0.1 + rng.normal(0, 0.05, 50)
    first = paired_bootstrap(a, b, 0.95, 2000, seed=3)
    assert first == paired_bootstrap(a, b, 0.95, 2000, seed=3)
    delta, lo, hi, p = first
    assert delta == pytest.approx(float(np.mean(b - a)))
    assert lo < delta < hi and lo > 0 and p == pytest.approx(1 / 2000)
    same = paired_bootstrap(a, a, 0.95, 2000, seed=3)
    assert same[0] == 0.0 and same[3] == 1.0


def _rules(right_every: int):
    def answer(prompt):
        i = int(prompt[-1].content.split()[-1])
        topic = ["billing", "shipping"][i % 2]
        return topic if i % right_every else "wrong"

    answer.__name__ = f"rules_{right_every}"
    return CallableSystem(answer, name=f"rules-{right_every}", version=str(right_every))


def test_compare_two_runs_on_the_same_suite(tmp_path):
    suite = make_suite(tmp_path / "s")
    store = Store(tmp_path / "fg.db")
    options = RunOptions(progress=False)
    weak = run_suites(_rules(2), [suite], store, options)  # right on odd i: 20/40
    strong = run_suites(_rules(10), [suite], store, options)  # wrong on i % 10 == 0: 36/40
    comparison = compare_runs(store, weak.run_id, strong.run_id)
    deltas = {d.name: d for d in comparison.deltas}
    acc = deltas["label.accuracy"]
    assert (acc.a.value, acc.b.value, acc.delta) == (0.5, 0.9, pytest.approx(0.4))
    assert acc.test == "mcnemar-exact" and acc.discordant == (0, 16)
    assert acc.p_value == pytest.approx(mcnemar_exact(0, 16))
    assert acc.ci_low > 0
    f1 = deltas["label.macro_f1"]
    assert f1.test == "paired-bootstrap" and f1.delta > 0 and f1.n_paired == 40
    flips = [f for f in comparison.flipped if f.metric == "label.accuracy"]
    assert len(flips) == 16 and {f.direction for f in flips} == {"better"}
    assert flips[0].output_a == "wrong" and flips[0].prompt[-1]["content"].startswith("request")
    again = compare_runs(store, weak.run_id, strong.run_id)
    assert [d.to_dict() for d in again.deltas] == [d.to_dict() for d in comparison.deltas]


def test_runs_on_different_suite_hashes_are_refused(tmp_path):
    store = Store(tmp_path / "fg.db")
    a = run_suites(_rules(2), [make_suite(tmp_path / "a")], store, RunOptions(progress=False))
    b = run_suites(_rules(2), [make_suite(tmp_path / "b", n=30)], store, RunOptions(progress=False))
    with pytest.raises(InputError, match="suite 'test/classify' differs between the runs"):
        compare_runs(store, a.run_id, b.run_id)


def test_usage_and_cost_per_thousand_requests(tmp_path):
    suite = make_suite(tmp_path / "s", n=4)
    store = Store(tmp_path / "fg.db")
    a = run_suites(_rules(2), [suite], store, RunOptions(progress=False))
    comparison = compare_runs(store, a.run_id, a.run_id)
    usage = comparison.usage[a.run_id]
    assert usage.n == 4
    from finegate.harness.compare import Usage

    u = Usage(
        n=10,
        prompt_tokens_mean=2000,
        completion_tokens_mean=50,
        latency_p50_s=0.1,
        latency_p95_s=0.2,
    )
    # 1,000 requests x (2,000 x $3 + 50 x $15) per million tokens = $6.75
    assert u.cost_per_1000(3.0, 15.0) == pytest.approx(6.75)


def test_relative_change_is_the_paired_ratio_with_its_interval():
    from finegate.harness.stats import paired_relative_change

    a = np.array([1.0] * 40 + [0.0] * 10)  # baseline mean 0.8
    b = a.copy()
    b[:6] = 0.0  # candidate mean 0.68: a relative change of -15%
    rel, lo, hi = paired_relative_change(a, b, 0.95, 2000, seed=0)
    assert rel == pytest.approx(-0.15)
    assert lo < rel < hi < 0  # six losses, no gains: the drop is real
    assert paired_relative_change(a, b, 0.95, 2000, seed=0) == (rel, lo, hi)
    zero = np.zeros(5)
    assert paired_relative_change(zero, np.ones(5), 0.95, 2000, seed=0) == (None, None, None)


def test_a_saved_comparison_is_a_run_with_deltas_and_relative_changes(tmp_path):
    from finegate.harness.compare import save_comparison

    suite = make_suite(tmp_path / "s")
    store = Store(tmp_path / "fg.db")
    options = RunOptions(progress=False)
    strong = run_suites(_rules(10), [suite], store, options)  # 36/40
    weak = run_suites(_rules(2), [suite], store, options)  # 20/40
    comparison = compare_runs(store, strong.run_id, weak.run_id)
    run_id = save_comparison(store, comparison)
    assert save_comparison(store, comparison) == run_id  # stored once
    run = store.get_run(run_id)
    assert run["kind"] == "comparison" and run["system"]["candidate_run"] == weak.run_id
    metrics = {m.name: m for m in store.metrics(run_id)[suite.id]}
    drop = metrics["label.accuracy.relative_change"]
    assert drop.value == pytest.approx((0.5 - 0.9) / 0.9)
    assert drop.n == 40 and drop.ci_low < drop.value < drop.ci_high < 0
    assert metrics["label.accuracy.delta"].value == pytest.approx(-0.4)
    per_case = {r["case_id"]: r["scores"]["label.accuracy.delta"] for r in store.records(run_id)}
    assert sum(1 for v in per_case.values() if v == -1.0) == 16 and len(per_case) == 40
