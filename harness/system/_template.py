"""Prompt templates: how a prompted baseline is declared.

A ``PromptTemplate`` (system prompt, few-shot examples, a Jinja template for the
user turn) wraps any system into a ``PromptedSystem``. The template is part of
the fingerprint: the same weights behind another prompt are another system.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict, Field, field_validator

from finegate.harness.core import (
    GenerateRequest,
    Generation,
    Loglikelihood,
    LoglikelihoodRequest,
    Message,
    Prompt,
    load_yaml_model,
    sha256_json,
)
from finegate.harness.system._protocol import System, render_plain

_env = jinja2.Environment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
)


class Shot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: str
    output: str


class PromptTemplate(BaseModel):
    """``template`` sees ``prompt``: the suite's rendered prompt for the case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = "template"
    system: str | None = None
    template: str = "{{ prompt }}"
    shots: tuple[Shot, ...] = Field(default_factory=tuple)

    @field_validator("template")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            _env.parse(v)
        except jinja2.TemplateSyntaxError as e:
            raise ValueError(f"invalid Jinja template: {e.message}") from None
        return v

    @classmethod
    def from_yaml(cls, path: str | Path) -> PromptTemplate:
        return load_yaml_model(path, cls)

    def hash(self) -> str:
        return sha256_json(self.model_dump(mode="json"))

    def user_turn(self, prompt: str) -> str:
        return _env.from_string(self.template).render(prompt=prompt)

    def apply(self, prompt: Prompt) -> Prompt:
        """The conversation the wrapped system sees."""
        head: list[Message] = []
        if self.system:
            head.append(Message("system", self.system))
        for shot in self.shots:
            head += [Message("user", self.user_turn(shot.input)), Message("assistant", shot.output)]
        if isinstance(prompt, str):
            return (
                render_plain([*head, Message("user", self.user_turn(prompt))])
                if head
                else self.user_turn(prompt)
            )
        *earlier, last = prompt
        if last.role != "user":
            return (*head, *prompt)
        return (*head, *earlier, Message("user", self.user_turn(last.content)))

    def wrap(self, system: System) -> PromptedSystem:
        return PromptedSystem(system, self)


class PromptedSystem:
    """A system seen through a prompt template."""

    def __init__(self, inner: System, template: PromptTemplate):
        self.inner = inner
        self.template = template
        self.name = f"{inner.name}@{template.id}"

    def fingerprint(self) -> str:
        return sha256_json(
            {
                "type": "prompted",
                "inner": self.inner.fingerprint(),
                "template": self.template.hash(),
            }
        )

    def execution_key(self) -> str:
        return self.inner.execution_key()

    def describe(self) -> dict[str, Any]:
        return {
            "type": "prompted",
            "name": self.name,
            "template": self.template.model_dump(mode="json"),
            "template_hash": self.template.hash(),
            "inner": self.inner.describe(),
            "fingerprint": self.fingerprint(),
        }

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Generation]:
        return self.inner.generate(
            [GenerateRequest(self.template.apply(r.prompt), r.params) for r in requests]
        )

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Loglikelihood]:
        return self.inner.loglikelihood(
            [LoglikelihoodRequest(self.template.apply(r.context), r.continuation) for r in requests]
        )
