import json

from finegate.harness import Store, resolve_suite
from finegate.harness.data import check_contamination, jaccard, ngrams, words


def test_ngrams_and_jaccard_by_hand():
    tokens = words("The cat, the CAT! sat")
    assert tokens == ["the", "cat", "the", "cat", "sat"]
    assert ngrams(tokens, 2) == {("the", "cat"), ("cat", "the"), ("cat", "sat")}
    assert ngrams(["a", "b"], 13) == {("a", "b")}
    assert jaccard({1, 2, 3}, {2, 3, 4}) == 0.5


def test_planted_duplicates_are_found_and_stored_as_a_run(tmp_path):
    suite = resolve_suite("task/support_triage")
    exact, near, partial, clean = suite.cases[:4]
    edited = near.input.split()
    edited[-1] = edited[-1] + "!!"  # punctuation only: still the same words
    near_text = " ".join(edited[:-3])  # drop the last words: a near duplicate
    passage = " ".join(partial.input.split()[:14])  # 14 words: two 13-grams in common
    rows = [
        {"prompt": exact.input.upper(), "completion": "x"},
        {"prompt": near_text, "completion": "y"},
        {"prompt": "Quoted from a forum: " + passage, "completion": "z"},
        {"prompt": "An unrelated training example about gardening tools.", "completion": "w"},
    ]
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    store = Store(tmp_path / "fg.db")
    result = check_contamination(data, suite, store)
    by_id = {c.case_id: c for c in result.cases}
    assert by_id[exact.id].exact_duplicate and by_id[exact.id].matches == (1,)
    assert by_id[near.id].near_duplicate and not by_id[near.id].exact_duplicate
    assert by_id[partial.id].contaminated and 0 < by_id[partial.id].ngram_overlap < 0.5
    assert not by_id[clean.id].contaminated
    dirty = sum(c.contaminated for c in result.cases)
    metric = {m.name: m for m in result.metrics}["contaminated"]
    assert metric.n == len(suite.cases) and metric.value == dirty / len(suite.cases)
    run = store.get_run(result.run_id)
    assert run["kind"] == "contamination" and run["suites"][0]["hash"] == suite.hash
    assert {m.name for m in store.metrics(result.run_id)[suite.id]} >= {
        "contaminated",
        "exact_duplicate",
        "near_duplicate",
        "ngram_overlap",
    }
