"""A suite's YAML, as pydantic models: its source (a case file or lm-eval
tasks), prompt, generation parameters, scorers and interval settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from finegate.harness.core import GenerationParams
from finegate.harness.suite._lm_eval_tasks import LmEvalSource

SuiteKind = Literal["task", "regression", "safety", "pii"]

SUITE_FILE = "suite.yaml"


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    format: str | None = Field(
        None, description="a registered case format (jsonl, csv, ...); default: the suffix"
    )
    columns: dict[str, str] = Field(
        default_factory=dict, description="case field -> column name in the file"
    )
    split: str | None = Field(None, description="evaluate only the cases of this split")


class GenerationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_new_tokens: int = Field(256, ge=1, le=32768)
    temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    stop: list[str] = Field(default_factory=list)
    seed: int = 0

    def params(self) -> GenerationParams:
        return GenerationParams(
            self.max_new_tokens, self.temperature, self.top_p, tuple(self.stop), self.seed
        )


class ScorerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    alias: str | None = Field(None, alias="as")
    args: dict[str, Any] = Field(default_factory=dict)

    @property
    def metric_name(self) -> str:
        return self.alias or self.name


class SuiteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-/]*$")
    version: str
    kind: SuiteKind
    description: str = ""
    task: Literal["generate", "multiple_choice"] = "generate"
    source: SourceConfig | None = None
    lm_eval: LmEvalSource | None = Field(
        None, description="run lm-eval tasks instead of a case file (regression suites)"
    )
    prompt: str = "{{ input }}"
    choice_prefix: str = " "
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    scorers: list[ScorerSpec] = Field(default_factory=list)
    baseline_template: str | None = Field(
        None, description="a prompt template YAML (relative path) for prompted baselines"
    )
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    bootstrap_resamples: int = Field(2000, ge=100)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) else v

    @model_validator(mode="after")
    def _one_source(self) -> SuiteConfig:
        if (self.source is None) == (self.lm_eval is None):
            raise ValueError("a suite needs exactly one of 'source' (a case file) and 'lm_eval'")
        return self
