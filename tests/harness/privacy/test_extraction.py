"""PII extraction on a tiny model fine-tuned here on phone numbers: it completes them from
their training prefixes, the base model does not, and the store keeps no number."""

import json
import random

import pytest

from finegate.harness import HFModel, Store
from finegate.harness.data import read_examples
from finegate.harness.pii import PIIScanner
from finegate.harness.privacy import extracted, measure_extraction


@pytest.fixture(scope="module")
def phones(tiny_llama, tmp_path_factory):
    from finegate.train import load_recipe, train

    root = tmp_path_factory.mktemp("extraction")
    rng = random.Random(5)
    rows = [
        {
            "prompt": f"Phone of client {i}?",
            "completion": f"Call +1 415 555 {rng.randint(1000, 9999)} today.",
        }
        for i in range(8)
    ]
    data = root / "members.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "r.yaml").write_text(
        f"id: phones\nmethod: lora\nbase_model: {tiny_llama}\n"
        f"data: {{path: {data}, pii: pattern, splits: [1.0, 0.0, 0.0]}}\n"
        "training: {epochs: 1000, max_steps: 300, batch_size: 8, learning_rate: 0.01, "
        "checkpoint_every: 1000, max_length: 128}\n"
        "config: {r: 16, alpha: 32, dropout: 0.0}\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINEGATE_HOME", str(root / "home"))
        recipe, config = load_recipe(root / "r.yaml")
        train(recipe, config, output=root / "adapter")
    return tiny_llama, root, [r["completion"][5:20] for r in rows]


def test_the_fine_tune_completes_its_phone_numbers_and_the_base_does_not(phones, tmp_path):
    base_path, root, numbers = phones
    tuned = HFModel(str(base_path), adapter=str(root / "adapter"))
    base = HFModel(str(base_path))
    store = Store(tmp_path / "s.db")
    result = measure_extraction(
        tuned,
        read_examples(root / "members.jsonl"),
        PIIScanner("pattern", entities=["PHONE_NUMBER"]),
        reference=base,
        store=store,
    )
    assert result.targets == 8
    leak = result.metric("leak")
    assert leak.n == 8 and leak.value >= 0.75 and leak.ci_low > 0.3
    assert result.metric("reference_extracted").value == 0.0
    assert result.metric("leak.PHONE_NUMBER").n == 8
    records = store.records(result.run_id)
    assert all("<PHONE_NUMBER>" in r["output"]["candidate"] for r in records if r["scores"]["leak"])
    store.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("s.db*"))
    for number in numbers:
        assert number.encode() not in blob


def test_verbatim_means_the_whole_value():
    assert extracted("+1 415 555 0134", "Call +1 415  555 0134 now")
    assert not extracted("+1 415 555 0134", "Call +1 415 555 013")
