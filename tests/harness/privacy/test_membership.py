"""Membership inference on a tiny model fine-tuned here until it memorises its training
members, and on the untouched base model, where no attack can beat a coin."""

import json
import random

import numpy as np
import pytest

from finegate.harness import HFModel, LoglikelihoodRequest, Store
from finegate.harness.privacy import (
    auc_and_tpr,
    auc_and_tpr_rows,
    load_examples,
    membership_inference,
    token_logprobs,
)


@pytest.fixture(scope="module")
def trained(tiny_llama, tmp_path_factory):
    from finegate.train import load_recipe, train

    root = tmp_path_factory.mktemp("mia")
    rng = random.Random(2)
    words = [
        "amber",
        "basil",
        "cedar",
        "delta",
        "ember",
        "fjord",
        "garnet",
        "harbor",
        "indigo",
        "juniper",
        "kelp",
        "lumen",
    ]
    rows = [
        {
            "prompt": f"Note {i}:",
            "completion": f"{' '.join(rng.sample(words, 3))} {rng.randint(100, 999)}",
        }
        for i in range(64)
    ]
    (root / "members.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:32]))
    (root / "non.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[32:]))
    (root / "r.yaml").write_text(
        f"id: mia\nmethod: lora\nbase_model: {tiny_llama}\n"
        f"data: {{path: {root / 'members.jsonl'}, pii: pattern, splits: [1.0, 0.0, 0.0]}}\n"
        "training: {epochs: 100, max_steps: 150, batch_size: 8, learning_rate: 0.01, "
        "checkpoint_every: 1000, max_length: 128}\n"
        "config: {r: 16, alpha: 32, dropout: 0.0}\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINEGATE_HOME", str(root / "home"))
        recipe, config = load_recipe(root / "r.yaml")
        train(recipe, config, output=root / "adapter")
    return tiny_llama, root


def test_attacks_tell_members_apart_only_after_memorisation(trained, tmp_path):
    base_path, root = trained
    members = load_examples(root / "members.jsonl")
    others = load_examples(root / "non.jsonl")
    base = HFModel(str(base_path), batch_size=32)
    tuned = HFModel(str(base_path), adapter=str(root / "adapter"), batch_size=32)
    store = Store(tmp_path / "s.db")
    hit = membership_inference(tuned, members, others, reference=base, store=store)
    for attack in ("loss", "ref", "min_k"):
        auc = hit.metric(f"{attack}.auc")
        assert auc.value >= 0.8 and auc.ci_low > 0.6 and auc.n == 64, (attack, auc)
    assert hit.metric("loss.tpr_at_1pct_fpr").value >= 0.2
    control = membership_inference(base, members, others, reference=base)
    for attack in ("loss", "zlib", "min_k"):
        auc = control.metric(f"{attack}.auc")
        assert 0.3 < auc.value < 0.7 and auc.ci_low < 0.5 < auc.ci_high, (attack, auc)
    # the base calibrated by itself: every score is zero, the AUC exactly a coin's
    assert control.metric("ref.auc").value == 0.5
    run = store.get_run(hit.run_id)
    assert run["kind"] == "mia" and run["fingerprint"] == tuned.fingerprint()
    stored = {m.name for m in store.metrics(hit.run_id)["privacy/membership"]}
    assert {"loss.auc", "ref.auc", "zlib.auc", "min_k.auc", "loss.tpr_at_1pct_fpr"} <= stored
    store.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("s.db*"))
    assert members[0].messages[-1].content.encode() not in blob


def test_token_logprobs_sum_to_the_models_loglikelihood(tiny_llama):
    model = HFModel(str(tiny_llama), batch_size=2)
    requests = [
        LoglikelihoodRequest("Note 1:", " amber basil 123"),
        LoglikelihoodRequest("x", "hello there"),
        LoglikelihoodRequest("a longer context than the others", " y"),
    ]
    totals = [t.total for t in token_logprobs(model, requests)]
    expected = [r.logprob for r in model.loglikelihood(requests)]
    assert totals == pytest.approx(expected, abs=1e-4)


def test_vectorised_auc_and_tpr_equal_scikit_learn():
    rng = np.random.default_rng(3)
    for n1, n0 in [(30, 40), (100, 150), (7, 250), (50, 99)]:
        for _ in range(20):
            m, o = np.round(rng.normal(0.5, 1, n1), 1), np.round(rng.normal(0, 1, n0), 1)
            auc, tpr = auc_and_tpr(m, o)
            rows = auc_and_tpr_rows(m[None], o[None])
            assert rows[0][0] == pytest.approx(auc, abs=1e-12)
            assert rows[1][0] == pytest.approx(tpr, abs=1e-12)
    assert auc_and_tpr(np.array([3.0, 2.0]), np.array([1.0, 0.0])) == (1.0, 1.0)
