"""The ``kto`` block of a recipe (under ``config:``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from finegate.train._pref_config import PreferenceSettings


class KtoSettings(PreferenceSettings):
    beta: float = Field(0.1, gt=0.0, description="how far the adapter may move from its reference")
    loss_type: Literal["kto", "apo_zero_unpaired"] = Field(
        "kto", description="kto (with its KL estimate) or apo_zero_unpaired (without)"
    )
    desirable_weight: float = Field(1.0, gt=0.0, description="weight of desirable answers' loss")
    undesirable_weight: float = Field(
        1.0, gt=0.0, description="weight of undesirable answers' loss"
    )
    from_adapter: str | None = Field(
        None,
        description="an SFT adapter folder (relative to the working directory) to train further; "
        "the reference is then base + that adapter, frozen. recipe:<id> names the adapter "
        "recipe <id> trains (earlier in the same pipeline, or runs/<id> for finegate train). "
        "Default: a new adapter, and the reference is the base model",
    )
