"""Tiny data sets and recipes for training tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def arithmetic_rows(n: int = 48) -> list[dict]:
    return [
        {
            "prompt": f"Q{i}: what is {i} plus {i}?",
            "completion": f"{2 * i}",
            "source": "generated",
            "licence": "CC0",
            "consent": "not personal data",
        }
        for i in range(n)
    ]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def recipe_file(tmp_path, tiny_llama):
    """``make(method, **overrides)`` writes a recipe over 48 arithmetic examples."""
    data = write_jsonl(tmp_path / "data.jsonl", arithmetic_rows())

    def make(
        method: str = "lora",
        training: str = "",
        config: str = "",
        data_extra: str = "",
        name: str = "r.yaml",
    ) -> Path:
        path = tmp_path / name
        path.write_text(
            f"id: tiny-{method}\nmethod: {method}\nbase_model: {tiny_llama}\n"
            f"data: {{path: {data}, pii: pattern{data_extra}}}\n"
            f"training: {{epochs: 2, batch_size: 8, learning_rate: 0.01, checkpoint_every: 2"
            f"{training}}}\n" + (f"config: {{{config}}}\n" if config else "")
        )
        return path

    return make
