"""Golden values: the hashes that name stored results must not move.

A suite hash keys the response cache and every stored run; a system fingerprint
binds verdicts and registry versions to a model. Moving code around must leave
both exactly as they were, so they are pinned here.

Scorer identities that name an installed library (its version, its weight
files) are recorded beside each hash: when a library is upgraded those parts
change on purpose, and the hash is then recomputed with the recorded
identities, so the pin still covers everything finegate itself puts in.
"""

from __future__ import annotations

import json
import struct
from dataclasses import replace
from pathlib import Path

import pytest

from finegate.harness import HFModel, PromptTemplate, load_suite, suite_catalog
from finegate.harness.suite import suite_hash

GOLDEN = json.loads((Path(__file__).parent / "golden_suites.json").read_text("utf-8"))
# identity keys that name an installed library rather than finegate's own inputs
LIBRARY_KEYS = {"rouge_score", "bert_score", "version", "weights_sha256", "encoder_sha256"}


def _own(identity: dict) -> dict:
    return {k: v for k, v in identity.items() if k not in LIBRARY_KEYS}


def test_every_builtin_suite_is_pinned() -> None:
    assert sorted(suite_catalog()) == sorted(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_builtin_suite_hash(name: str) -> None:
    golden = GOLDEN[name]
    suite = load_suite(suite_catalog()[name])
    assert [_own(s.identity) for s in suite.scorers] == [_own(i) for i in golden["identities"]]
    pinned = [
        replace(s, identity=i) for s, i in zip(suite.scorers, golden["identities"], strict=True)
    ]
    assert suite_hash(suite.config, suite.cases, pinned, golden["lm_eval"]) == golden["hash"]
    if [s.identity for s in suite.scorers] == golden["identities"] and (
        suite.lm_eval is None or suite.lm_eval.identity == golden["lm_eval"]
    ):
        assert suite.hash == golden["hash"]


def _safetensors(path: Path, name: str, values: list[float]) -> None:
    """A one-tensor safetensors file written byte by byte, so its digest never
    depends on a library's serialiser."""
    header = json.dumps(
        {name: {"dtype": "F32", "shape": [len(values)], "data_offsets": [0, 4 * len(values)]}},
        separators=(",", ":"),
    ).encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(
        struct.pack("<Q", len(header)) + header + struct.pack(f"<{len(values)}f", *values)
    )


@pytest.fixture
def fixed_model(tmp_path: Path) -> tuple[Path, Path]:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(
        '{"architectures": ["LlamaForCausalLM"], "hidden_size": 8, "model_type": "llama", '
        '"num_attention_heads": 2, "num_hidden_layers": 1, "vocab_size": 16}\n'
    )
    _safetensors(model / "model.safetensors", "lm_head.weight", [i / 8 for i in range(16)])
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        '{"peft_type": "LORA", "r": 2, "target_modules": ["q_proj"]}\n'
    )
    _safetensors(adapter / "adapter_model.safetensors", "lora_A.weight", [0.5, -0.5])
    return model, adapter


def test_model_fingerprints(fixed_model: tuple[Path, Path]) -> None:
    model, adapter = fixed_model
    base = HFModel(str(model))
    tuned = HFModel(str(model), adapter=str(adapter))
    quantised = HFModel(str(model), load_in_4bit=True)
    prompted = PromptTemplate(id="golden", system="Answer briefly.").wrap(tuned)
    assert {
        "base": base.fingerprint(),
        "adapter": tuned.fingerprint(),
        "4bit": quantised.fingerprint(),
        "prompted": prompted.fingerprint(),
    } == {
        "base": "a2ca93b74c726c317c94e756332c1a3d1956e0534bb30253e7da4b1e693c463e",
        "adapter": "e2a1aa2858b761ca380e2f9fe827da83ede9c5405417ea5504e971238f13464f",
        "4bit": "b6ef44cb0d823b92f5cb97b106d4d3ea4f5a967f7f9e9a3236cd0d964ad766ec",
        "prompted": "6549a632574ccdbc988072b5b1aac936694f2d7dc6dce1908134981caecc4c17",
    }
