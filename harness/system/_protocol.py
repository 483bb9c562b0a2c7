"""The system under test: anything that answers prompts.

A model, a prompted model, a RAG pipeline or an endpoint all look the same to
the runner: ``generate`` and ``loglikelihood`` over batches of requests, a
``fingerprint`` that names exactly what produced the answers, and a JSON
``describe`` for the run record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from finegate.harness.core import (
    GenerateRequest,
    Generation,
    Loglikelihood,
    LoglikelihoodRequest,
    Message,
)


@runtime_checkable
class System(Protocol):
    name: str

    def fingerprint(self) -> str:
        """Hash of everything that determines the outputs (weights, adapter, template,
        default generation parameters)."""
        ...

    def execution_key(self) -> str:
        """What else changes the numbers but not the identity of the model (device
        kind, for instance). Part of the response cache key, not of the fingerprint."""
        ...

    def describe(self) -> dict[str, Any]: ...

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Generation]: ...

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Loglikelihood]: ...


def innermost(description: dict[str, Any]) -> dict[str, Any]:
    """The description of the model itself: wrapped systems (prompted, served)
    describe what they wrap under ``inner``."""
    while isinstance(description.get("inner"), dict):
        description = description["inner"]
    return description


def innermost_system(system: Any) -> Any:
    """The model object itself, under any wrappers that hold it as ``inner``."""
    while getattr(system, "inner", None) is not None:
        system = system.inner
    return system


def render_plain(messages: Sequence[Message]) -> str:
    """A conversation as plain text, for models without a chat template.

    Turns are separated by blank lines; earlier assistant turns (few-shot
    answers) follow their prompt on the next line, so a base model sees the
    pattern it should continue.
    """
    parts: list[str] = []
    for m in messages:
        if m.role == "assistant":
            if parts:
                parts[-1] = parts[-1] + "\n" + m.content
            else:
                parts.append(m.content)
        else:
            parts.append(m.content)
    return "\n\n".join(parts) + "\n"
