"""The ``dpo`` block of a recipe (under ``config:``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from finegate.train._pref_config import PreferenceSettings

DpoLoss = Literal[
    "sigmoid",
    "hinge",
    "ipo",
    "sigmoid_norm",
    "nca_pair",
    "bco_pair",
    "sppo_hard",
    "apo_zero",
    "apo_down",
    "discopop",
    "aot",
    "aot_unpaired",
]


class DpoSettings(PreferenceSettings):
    beta: float = Field(
        0.1, gt=0.0, description="how far the adapter may move from its reference (IPO: tau)"
    )
    loss_type: DpoLoss = Field("sigmoid", description="TRL's DPO loss; sigmoid is the DPO paper's")
    from_adapter: str | None = Field(
        None,
        description="an SFT adapter folder (relative to the working directory) to train further; "
        "the reference is then base + that adapter, frozen. recipe:<id> names the adapter "
        "recipe <id> trains (earlier in the same pipeline, or runs/<id> for finegate train). "
        "Default: a new adapter, and the reference is the base model",
    )
