"""The ``lora`` block of a recipe (under ``config:``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    r: int = Field(8, ge=1, le=1024, description="rank of the update matrices")
    alpha: int = Field(16, ge=1, description="scaling: the update is multiplied by alpha / r")
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] | str = Field(
        "all-linear", description="module names, or all-linear (every linear layer but the head)"
    )
