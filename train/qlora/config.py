"""The ``qlora`` block of a recipe: LoRA settings plus the 4-bit optimiser choice."""

from __future__ import annotations

from pydantic import Field

from finegate.train.lora.config import LoraSettings


class QLoraSettings(LoraSettings):
    paged_optimizer: bool = Field(
        True, description="bitsandbytes' paged 8-bit AdamW on CUDA (plain AdamW on CPU)"
    )
