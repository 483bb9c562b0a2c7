"""Training recipes: what to train, on what, how, and where to write it.

A recipe is YAML validated like a policy: the common part here, the method's
own block (``lora:``, ``qlora:``, ``dp:``) by the trainer's config class, every
problem reported at once with file, line and field. The recipe hash covers the
validated content and is recorded in the training manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from finegate.harness.core import (
    InputError,
    Problem,
    format_loc,
    line_of,
    parse_yaml_model,
    problems_from_validation,
    sha256_json,
)


class CanaryConfig(BaseModel):
    """Secret-bearing sentences inserted into the training split, to measure
    memorisation later (canary exposure)."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(0, ge=0)
    repetitions: int = Field(1, ge=1)
    format: str = "The account recovery code for {name} is {secret}."
    prompt: str = "Please note this for the records."
    secret_digits: int = Field(6, ge=2, le=12)


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str | None = Field(None, description="train on a suite's train and validation splits")
    path: str | None = Field(None, description="or a JSONL file (chat, alpaca, prompt/completion)")
    format: Literal["chat", "alpaca", "prompt_completion", "text"] | None = None
    splits: tuple[float, float, float] = (0.8, 0.1, 0.1)
    near_duplicate: float = Field(0.9, gt=0.0, le=1.0)
    pii: Literal["spacy", "pattern", "off"] = "pattern"
    scrub_pii: bool = False
    require_provenance: bool = False
    canaries: CanaryConfig = Field(default_factory=CanaryConfig)

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        if (self.suite is None) == (self.path is None):
            raise ValueError("give exactly one of 'suite' and 'path'")
        if abs(sum(self.splits) - 1.0) > 1e-6 or min(self.splits) < 0:
            raise ValueError("splits must be three non-negative fractions that sum to 1")
        return self


class TrainingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(1, ge=1)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    batch_size: int = Field(4, ge=1)
    gradient_accumulation: int = Field(1, ge=1)
    learning_rate: float = Field(2e-4, gt=0.0)
    weight_decay: float = Field(0.0, ge=0.0)
    warmup_steps: int = Field(0, ge=0)
    max_length: int = Field(512, ge=8)
    max_grad_norm: float | None = Field(1.0, gt=0.0)
    gradient_checkpointing: bool = False
    early_stopping_patience: int | None = Field(None, ge=1)
    checkpoint_every: int = Field(20, ge=1, description="optimizer steps between checkpoints")
    seed: int = 0


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    method: str = Field(description="a registered trainer: lora, qlora, dp-sgd, or a plugin")
    base_model: str = "smollm2-135m-instruct"
    template: str | None = Field(None, description="prompt template YAML used for the prompts")
    data: DataConfig
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    method_config: dict[str, Any] = Field(default_factory=dict, alias="config")
    output: str | None = Field(
        None, description="adapter folder, relative to the working directory (default: runs/<id>)"
    )

    def hash(self) -> str:
        return sha256_json(self.model_dump(mode="json", by_alias=True, exclude={"output"}))


def load_recipe(path: str | Path) -> tuple[Recipe, Any]:
    """The recipe and its trainer's validated method config; every problem at once."""
    from finegate.train._protocol import trainers

    p = Path(path)
    recipe, node = parse_yaml_model(p, Recipe)
    trainer_cls = trainers.get(
        recipe.method, file=str(p), line=line_of(node, ("method",)), field="method"
    )
    try:
        config = trainer_cls.config_class.model_validate(recipe.method_config)
    except ValidationError as err:
        raise InputError(
            problems_from_validation(err, file=str(p), node=node, prefix=("config",))
        ) from None
    problems = [
        Problem(message, file=str(p), line=line_of(node, loc), field=format_loc(loc))
        for loc, message in trainer_cls.check(recipe, config)
    ]
    if problems:
        raise InputError(problems)
    return recipe, config
