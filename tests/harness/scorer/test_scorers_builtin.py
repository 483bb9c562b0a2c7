"""Built-in scorers against values computed by hand or by the reference library."""

import pytest

from finegate.harness import Case, Output
from finegate.harness.scorer import (
    classification_report,
    confusion_matrix,
    load_scorer,
    token_f1_of,
)


def run(name, case, text, **args):
    return load_scorer(name, args).fn(case, Output(text=text))


def test_token_f1_by_hand():
    # squad normalisation drops "the"/"a": pred [cat, sat], ref [cat, sat, down]
    assert token_f1_of("The cat sat", "a cat sat down") == pytest.approx(0.8)
    assert token_f1_of("dog", "cat") == 0.0
    case = Case(id="1", input="q", references=("blue whale", "the blue whale"))
    assert run("token_f1", case, "a blue whale indeed") == pytest.approx(0.8)


def test_classification_report_by_hand():
    facts = [
        {"gold": "a", "pred": "a"},
        {"gold": "a", "pred": "b"},
        {"gold": "b", "pred": "b"},
        {"gold": "c", "pred": None},
    ]
    report = classification_report(facts)
    # a: P=1/1 R=1/2 F=2/3; b: P=1/2 R=1/1 F=2/3; c: P=0 R=0 F=0
    assert report["precision[a]"] == 1.0 and report["recall[a]"] == 0.5
    assert report["f1[b]"] == pytest.approx(2 / 3)
    assert report["f1[c]"] == 0.0
    assert report["macro_f1"] == pytest.approx(4 / 9)
    assert report["macro_precision"] == pytest.approx(0.5)
    assert report["macro_recall"] == pytest.approx(0.5)
    labels, columns, matrix = confusion_matrix(facts)
    assert labels == ["a", "b", "c"] and columns == ["a", "b", "c", "(other)"]
    assert matrix == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1]]


def test_invented_labels_do_not_become_classes():
    facts = [{"gold": "a", "pred": "zzz"}, {"gold": "a", "pred": "a"}]
    report = classification_report(facts)
    assert report["macro_f1"] == pytest.approx(2 / 3)  # only class a: P=1, R=1/2
    assert "f1[zzz]" not in report


def test_label_accuracy_reads_a_json_field():
    case = Case(id="1", input="t", labels={"category": "account_access"})
    scorer = load_scorer("label_accuracy", {"label": "category", "field": "category"}).fn
    good = scorer(case, Output(text='{"category": "Account_Access", "priority": "low"}'))
    assert good.scores == {"accuracy": 1.0}
    assert good.facts == {"pred": "account_access", "gold": "account_access"}
    bad = scorer(case, Output(text="no json"))
    assert bad.scores == {"accuracy": 0.0} and bad.facts["pred"] is None


def test_json_schema_compliance_and_the_first_violation():
    schema = {
        "type": "object",
        "properties": {"priority": {"enum": ["low", "high"]}},
        "required": ["priority"],
    }
    case = Case(id="1", input="t")
    assert run("json_schema", case, '{"priority": "low"}', schema=schema).scores == {"": 1.0}
    wrong = run("json_schema", case, '{"priority": "soon"}', schema=schema)
    assert wrong.scores == {"": 0.0} and wrong.facts["error"].startswith(
        "priority: 'soon' is not one"
    )
    missing = run("json_schema", case, "{}", schema=schema)
    assert "'priority' is a required property" in missing.facts["error"]
    with pytest.raises(ValueError, match="invalid JSON schema"):
        load_scorer("json_schema", {"schema": {"type": "no-such-type"}})


def test_rouge_by_hand_and_on_a_json_field():
    case = Case(id="1", input="t", references=("the cat is on the mat",))
    scores = run("rouge", case, "the cat sat on the mat", types=["rouge1", "rouge2"]).scores
    assert scores["rouge1"] == pytest.approx(5 / 6)  # the x2, cat, on, mat of 6 each
    assert scores["rouge2"] == pytest.approx(3 / 5)  # the-cat, on-the, the-mat of 5 each
    jcase = Case(id="2", input="t", references=('{"summary": "the cat is on the mat"}',))
    field = run(
        "rouge", jcase, '{"summary": "the cat sat on the mat"}', types=["rouge1"], field="summary"
    )
    assert field.scores["rouge1"] == pytest.approx(5 / 6)
    assert run("rouge", jcase, "not json", types=["rouge1"], field="summary").scores == {
        "rouge1": 0.0
    }
    with pytest.raises(ValueError, match="unknown ROUGE types"):
        load_scorer("rouge", {"types": ["rouge9"]})


def test_rouge_lsum_splits_sentences_itself():
    case = Case(id="1", input="t", references=("It rained. The match was cancelled.",))
    scores = run(
        "rouge", case, "The match was cancelled. It rained.", types=["rougeLsum", "rougeL"]
    )
    assert scores.scores["rougeLsum"] == pytest.approx(1.0)
    assert scores.scores["rougeL"] < 1.0


def test_bertscore_matches_the_reference_library_offline():
    from bert_score import BERTScorer

    from finegate.harness.scorer._overlap import _default_encoder_path

    scorer = load_scorer("bertscore", {})
    cases = [
        Case(id="1", input="t", references=("The customer was charged twice.",)),
        Case(id="2", input="t", references=("Package arrived damaged.",)),
    ]
    outputs = [Output(text="The client got a double charge."), Output(text="I like turtles.")]
    ours = scorer.fn.score_batch(cases, outputs)
    reference = BERTScorer(model_type=str(_default_encoder_path()), num_layers=6, lang="en")
    p, r, f = reference.score([o.text for o in outputs], [c.references[0] for c in cases])
    assert [s.scores["f1"] for s in ours] == pytest.approx([float(x) for x in f], abs=1e-5)
    assert [s.scores["precision"] for s in ours] == pytest.approx([float(x) for x in p], abs=1e-5)
    assert [s.scores["recall"] for s in ours] == pytest.approx([float(x) for x in r], abs=1e-5)
    assert ours[0].scores["f1"] > ours[1].scores["f1"]
    identity = scorer.identity
    assert identity["encoder"] == "all-MiniLM-L6-v2" and len(identity["encoder_sha256"]) == 64
    assert "/" not in str(identity)  # a name and a hash, never an absolute path


def test_latency_percentiles():
    scorer = load_scorer("latency", {}).fn
    facts = [{"latency_s": float(v)} for v in range(1, 101)]
    assert scorer.aggregate(facts) == {"p50": pytest.approx(50.5), "p95": pytest.approx(95.05)}
    assert scorer(Case(id="1", input="t"), Output(text="x", latency_s=0.25)).scores == {"": 0.25}


def test_vectorised_bootstrap_equals_one_call_per_resample():
    import numpy as np

    from finegate.harness.scorer import resampled_report

    rng = np.random.default_rng(0)
    labels = ["a", "b", "c"]
    facts = [
        {"gold": labels[int(g)], "pred": [*labels, None, "zzz"][int(p)]}
        for g, p in zip(rng.integers(0, 3, 40), rng.integers(0, 5, 40), strict=True)
    ]
    idx = rng.integers(0, 40, size=(25, 40))
    fast = resampled_report(facts, idx, labels)
    for row in range(25):
        slow = classification_report([facts[i] for i in idx[row]], labels)
        for key, value in slow.items():
            assert fast[key][row] == pytest.approx(value), key
    latency = load_scorer("latency", {}).fn
    lat_facts = [{"latency_s": float(v)} for v in rng.random(40)]
    fast_lat = latency.aggregate_resampled(lat_facts, idx)
    for row in range(25):
        slow = latency.aggregate([lat_facts[i] for i in idx[row]])
        assert fast_lat["p95"][row] == pytest.approx(slow["p95"])
