"""The ``dp-sgd`` block of a recipe: LoRA settings plus the privacy budget."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from finegate.train.lora.config import LoraSettings


class DpSgdSettings(LoraSettings):
    target_epsilon: float = Field(8.0, gt=0.0, description="the privacy budget to spend")
    delta: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="default: 1 / (10 x training examples); 1 / N would let a mechanism "
        "that publishes one whole record at random still meet it",
    )
    max_grad_norm: float = Field(1.0, gt=0.0, description="per-example gradient clipping norm")
    accountant: Literal["prv", "rdp"] = "prv"
    grad_sample_mode: Literal["hooks", "functorch", "ew"] = "hooks"
    secure_mode: bool = Field(
        False,
        description="cryptographically secure noise and sampling (opacus' secure_mode): for the "
        "model you ship; a run with it cannot be reproduced bit for bit",
    )
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
