"""Training recipes: what to train, on what, how, and where to write it.

A recipe is YAML validated like a policy: the common part here, the method's
own block (``lora:``, ``qlora:``, ``dp:``) by the trainer's config class, every
problem reported at once with file, line and field. The recipe hash covers the
validated content and is recorded in the training manifest.

``data.format: preference`` (paired) or ``unpaired_preference`` (KTO) makes the
data preference data: read from a file (not a suite), without canaries, and for
a trainer whose ``data_kind`` is ``preference``; a mismatch is refused, located.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

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


#: ``data.format`` values of preference data: paired (DPO) and unpaired (KTO)
PREFERENCE_FORMATS = ("preference", "unpaired_preference")

Loc = tuple[Any, ...]


class DataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str | None = Field(None, description="train on a suite's train and validation splits")
    path: str | None = Field(
        None,
        description="or a JSONL file (chat, alpaca, prompt/completion; preference data: "
        "prompt/chosen/rejected or prompt/completion/label)",
    )
    format: (
        Literal["chat", "alpaca", "prompt_completion", "text", "preference", "unpaired_preference"]
        | None
    ) = None
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
        if self.preference and self.suite is not None:
            raise ValueError(
                f"format {self.format!r} is read from a JSONL file: give 'path' "
                "(a suite cannot be a source of preference data)"
            )
        if abs(sum(self.splits) - 1.0) > 1e-6 or min(self.splits) < 0:
            raise ValueError("splits must be three non-negative fractions that sum to 1")
        return self

    @property
    def preference(self) -> bool:
        """Whether this is preference data (paired or unpaired), not SFT data."""
        return self.format in PREFERENCE_FORMATS

    def problems(self) -> list[tuple[Loc, str]]:
        """Settings that are valid alone but not with this data, located under ``data``."""
        if self.preference and self.canaries.count > 0:
            return [
                (
                    ("canaries", "count"),
                    "canaries are inserted into SFT data for memorisation tests; preference "
                    f"data (format {self.format!r}) takes none: set count to 0",
                )
            ]
        return []


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

    _source_file: str | None = PrivateAttr(None)

    def hash(self) -> str:
        return sha256_json(self.model_dump(mode="json", by_alias=True, exclude={"output"}))

    @property
    def source_file(self) -> str | None:
        """The YAML file the recipe was loaded from, if it was."""
        return self._source_file


#: why DP-SGD (opacus) refuses preference data
DP_PREFERENCE = (
    "DP-SGD with DPO or KTO is not supported: opacus bounds each example's influence "
    "by clipping that example's own gradient, and these losses have no such per-example "
    "form here (a DPO loss ties a chosen and a rejected answer together, and KTO's "
    "reference point is estimated across the batch), so there is no pairwise clipping "
    "to account for"
)


def data_kind_problems(recipe: Recipe, trainer_cls: Any) -> list[tuple[Loc, str]]:
    """A trainer takes SFT data or preference data (its ``data_kind``): the recipe's
    data must be of that kind."""
    wanted = getattr(trainer_cls, "data_kind", "sft")
    given = "preference" if recipe.data.preference else "sft"
    if wanted == given:
        return []
    method, fmt = recipe.method, recipe.data.format
    if wanted not in ("sft", "preference"):
        message = (
            f"method {method!r} declares data_kind {wanted!r}, which finegate does not "
            "prepare (sft, preference)"
        )
    elif given == "preference":
        why = (
            DP_PREFERENCE
            if method == "dp-sgd"
            else "train it with a preference trainer (dpo for paired, kto for unpaired data)"
        )
        message = f"method {method!r} trains on SFT data, and {fmt!r} is preference data: {why}"
    else:
        what = (
            f"{fmt!r} is SFT data"
            if fmt
            else "a suite's cases are SFT data"
            if recipe.data.suite
            else "the file is read as SFT data (no data.format given)"
        )
        message = (
            f"method {method!r} trains on preference data, and {what}: set data.format to "
            "preference (prompt, chosen, rejected) or unpaired_preference (prompt, completion, "
            "label), with path a JSONL file"
        )
    return [(("data", "format"), message)]


RECIPE_REF = "recipe:"
"""``config.from_adapter: recipe:<id>`` names the adapter another recipe trains."""


def _recipe_adapter(
    value: Any, adapters: Mapping[str, Path] | None, file: str, node: Any
) -> Path | None:
    """The folder ``recipe:<id>`` stands for: in a pipeline, where that earlier
    recipe's adapter is written; for ``finegate train``, ``runs/<id>``, where it
    writes that recipe by default."""
    if not (isinstance(value, str) and value.startswith(RECIPE_REF)):
        return None
    rid = value[len(RECIPE_REF) :].strip()
    if adapters is None:
        return Path("runs") / rid
    if rid not in adapters:
        earlier = ", ".join(adapters) or "none"
        raise InputError(
            Problem(
                f"names recipe {rid!r}, which this pipeline does not train before this "
                f"one (recipes before it: {earlier}); list {rid!r} first with --recipe",
                file=file,
                line=line_of(node, ("config", "from_adapter")),
                field="config.from_adapter",
            )
        )
    return adapters[rid]


def load_recipe(
    path: str | Path,
    *,
    adapters: Mapping[str, Path] | None = None,
    pending: bool = False,
) -> tuple[Recipe, Any]:
    """The recipe and its trainer's validated method config; every problem at once.

    ``adapters`` maps the recipes a pipeline trains before this one to their
    output folders, for ``from_adapter: recipe:<id>``; ``pending`` says they are
    not trained yet (the pipeline validates every recipe before training any),
    so the folder itself is not checked."""
    from finegate.train._protocol import trainers

    p = Path(path)
    recipe, node = parse_yaml_model(p, Recipe)
    trainer_cls = trainers.get(
        recipe.method, file=str(p), line=line_of(node, ("method",)), field="method"
    )
    method_config = dict(recipe.method_config)
    chained = _recipe_adapter(method_config.get("from_adapter"), adapters, str(p), node)
    if chained is not None:
        method_config["from_adapter"] = str(chained)
    try:
        config = trainer_cls.config_class.model_validate(method_config)
    except ValidationError as err:
        raise InputError(
            problems_from_validation(err, file=str(p), node=node, prefix=("config",))
        ) from None
    if chained is not None and pending:
        config._adapter_pending = True
    located = [
        *data_kind_problems(recipe, trainer_cls),
        *((("data", *loc), message) for loc, message in recipe.data.problems()),
        *trainer_cls.check(recipe, config),
    ]
    problems = [
        Problem(message, file=str(p), line=line_of(node, loc), field=format_loc(loc))
        for loc, message in located
    ]
    if problems:
        raise InputError(problems)
    recipe._source_file = str(p)
    return recipe, config
