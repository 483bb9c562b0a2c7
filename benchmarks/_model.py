"""The model every benchmark shares, and its parameter counts for FLOP accounting."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any


@dataclass
class BenchModel:
    """A local model folder. FLOPs count matmuls only: ``2 * body`` per token
    through the transformer body (embeddings excluded: a lookup is not a
    matmul) and ``2 * head`` per position where the LM head runs."""

    path: Path

    @cached_property
    def tokenizer(self) -> Any:
        from finegate.harness.system.hf import load_tokenizer

        return load_tokenizer(self.path)

    @cached_property
    def causal_lm(self) -> Any:
        """The plain transformers model in fp32, loaded once for every reference
        that does not train it."""
        import torch
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(self.path, dtype=torch.float32).eval()

    @cached_property
    def _counts(self) -> tuple[int, int, int]:
        model = self.causal_lm
        embed = model.get_input_embeddings().weight
        head = model.get_output_embeddings().weight
        total = sum(p.numel() for p in model.parameters())
        body = total - embed.numel() - (0 if head is embed else head.numel())
        return total, body, head.numel()

    @property
    def parameters(self) -> int:
        return self._counts[0]

    @property
    def body_parameters(self) -> int:
        return self._counts[1]

    @property
    def head_parameters(self) -> int:
        return self._counts[2]

    @property
    def weight_bytes(self) -> int:
        """Bytes read per decode step in fp32: every weight once (a tied
        embedding is read once, as the LM head)."""
        return 4 * self.parameters

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])


def embedded_model() -> BenchModel:
    from finegate.harness.system.hf import resolve_model_ref

    return BenchModel(resolve_model_ref("smollm2-135m-instruct"))
