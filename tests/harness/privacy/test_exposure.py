"""Canary exposure on a tiny model fine-tuned here, through finegate's LoRA trainer, to
memorise its canaries; the untouched base model is the control."""

import json
import random

import pytest

from finegate.harness import HFModel, InputError, Store
from finegate.harness.privacy import (
    canaries_from_manifest,
    exact_exposure,
    measure_canary,
    measure_exposure,
)

LOG2_1000 = 9.965784284662087


@pytest.fixture(scope="module")
def memoriser(tiny_llama, tmp_path_factory):
    """(base path, adapter path): 2 canaries with 3-digit secrets, 16 copies each."""
    from finegate.train import load_recipe, train

    root = tmp_path_factory.mktemp("canaries")
    rng = random.Random(1)
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
    ]
    rows = [
        {"prompt": f"Note {i}:", "completion": f"{' '.join(rng.sample(words, 3))} {i}"}
        for i in range(24)
    ]
    data = root / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe_path = root / "r.yaml"
    recipe_path.write_text(
        f"id: canaries\nmethod: lora\nbase_model: {tiny_llama}\n"
        f"data: {{path: {data}, pii: pattern, splits: [1.0, 0.0, 0.0], "
        "canaries: {count: 2, repetitions: 16, secret_digits: 3}}\n"
        "training: {epochs: 100, max_steps: 150, batch_size: 8, learning_rate: 0.01, "
        "checkpoint_every: 1000, max_length: 128}\n"
        "config: {r: 16, alpha: 32, dropout: 0.0}\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FINEGATE_HOME", str(root / "home"))
        recipe, config = load_recipe(recipe_path)
        train(recipe, config, output=root / "adapter")
    return tiny_llama, root / "adapter"


def test_canaries_are_read_from_the_training_manifest(memoriser):
    _, adapter = memoriser
    canaries = canaries_from_manifest(adapter)
    assert [(c.index, c.repetitions, len(c.secret), c.space_size) for c in canaries] == [
        (0, 16, 3, 1000),
        (1, 16, 3, 1000),
    ]
    assert canaries[0].prefix == "The account recovery code for Ilse Brandt is "
    assert canaries[0].suffix == "." and canaries[0].prompt == "Please note this for the records."


def test_memorised_canaries_are_exposed_and_the_base_is_not(memoriser):
    base_path, adapter = memoriser
    canaries = canaries_from_manifest(adapter)
    tuned = HFModel(str(base_path), adapter=str(adapter), batch_size=64)
    base = HFModel(str(base_path), batch_size=64)
    for canary in canaries:
        hit = measure_canary(tuned, canary, method="exact")
        assert hit.rank == 1 and hit.exposure == pytest.approx(LOG2_1000)
    control = [measure_canary(base, c, method="exact") for c in canaries]
    # a secret the model never saw sits mid-ranking: about 1.4 bits expected, 9.97 at most
    assert all(c.rank > 30 for c in control)
    assert sum(c.exposure for c in control) / len(control) < 4.0


def test_skew_normal_estimate_agrees_with_the_exact_rank(memoriser):
    base_path, adapter = memoriser
    base = HFModel(str(base_path), batch_size=64)
    for canary in canaries_from_manifest(adapter):
        exact = measure_canary(base, canary, method="exact")
        sampled = measure_canary(base, canary, method="sampled", samples=300, seed=3)
        assert sampled.candidates == 300 and sampled.rank is None
        assert abs(sampled.exposure - exact.exposure) < 0.5
        assert set(sampled.fit) == {"skew", "loc", "scale", "uncapped"}


def test_exact_exposure_by_hand():
    assert exact_exposure(-1.0, [-2.0, -3.0, -0.5], 4) == (1.0, 2)  # rank 2 of 4: log2(4/2)
    assert exact_exposure(0.0, [-1.0] * 7, 8) == (3.0, 1)


def test_exposure_is_stored_without_the_secrets(memoriser, tmp_path):
    base_path, adapter = memoriser
    canaries = canaries_from_manifest(adapter)
    store = Store(tmp_path / "s.db")
    tuned = HFModel(str(base_path), adapter=str(adapter), batch_size=64)
    result = measure_exposure(tuned, canaries, store, samples=100, exact_limit=10)
    run = store.get_run(result.run_id)
    assert run["kind"] == "exposure" and run["fingerprint"] == tuned.fingerprint()
    evaluated = HFModel(str(base_path), adapter=str(adapter), batch_size=64)  # not loaded
    assert run["fingerprint"] == evaluated.fingerprint()  # so reports find the measurement
    metrics = {m.name: m for m in store.metrics(result.run_id)["privacy/exposure"]}
    assert metrics["exposure"].n == 2 and metrics["exposure.reps_16"].n == 2
    assert metrics["ranked_first"].value == 1.0 and metrics["exposure"].value > 8.0
    assert result.by_repetitions().keys() == {16}
    store.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("s.db*"))
    for c in canaries:
        assert f"is {c.secret}".encode() not in blob and f'"{c.secret}"'.encode() not in blob


def test_a_manifest_without_canaries_is_refused(tmp_path):
    path = tmp_path / "training_manifest.json"
    path.write_text(json.dumps({"dataset": {"canaries": []}, "recipe": {}}))
    with pytest.raises(InputError, match="records no canaries"):
        canaries_from_manifest(path)
