"""Values in flight between suites, systems, scorers and the store.

Frozen dataclasses: they are hashed into cache keys and passed between threads,
so nothing may change them after construction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import ConfigDict

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    __pydantic_config__ = ConfigDict(extra="forbid")

    role: Role
    content: str


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings. Greedy unless a suite asks for sampling."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stop": list(self.stop)}

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


Prompt = str | tuple[Message, ...]

"""A conversation (formatted by the model's chat template) or raw text (used verbatim)."""


def prompt_to_json(prompt: Prompt) -> str | list[dict[str, str]]:
    return prompt if isinstance(prompt, str) else [asdict(m) for m in prompt]


def last_turn_text(prompt: Any) -> str:
    """The text of a stored prompt's last turn (raw text is its own last turn)."""
    if isinstance(prompt, list) and prompt and isinstance(prompt[-1], dict):
        return str(prompt[-1].get("content", ""))
    return "" if prompt is None else str(prompt)


@dataclass(frozen=True)
class GenerateRequest:
    """Ask a system to continue a conversation or a raw prompt."""

    prompt: Prompt
    params: GenerationParams = field(default_factory=GenerationParams)

    def to_dict(self) -> dict[str, Any]:
        return {"prompt": prompt_to_json(self.prompt), "params": self.params.to_dict()}


@dataclass(frozen=True)
class LoglikelihoodRequest:
    """Log-probability of ``continuation`` after ``context``.

    A conversation context is formatted as in generation (chat template and the
    assistant turn's opening), so chat models are scored on the prompt they
    answer; raw text is used verbatim, as lm-eval's tasks expect.
    """

    context: Prompt
    continuation: str

    def to_dict(self) -> dict[str, Any]:
        return {"context": prompt_to_json(self.context), "continuation": self.continuation}


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" | "length"
    latency_s: float
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Loglikelihood:
    logprob: float
    is_greedy: bool
    n_tokens: int
    latency_s: float
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Case:
    """One input of a suite. Exactly one of ``input`` and ``messages`` is set."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    id: str
    input: str | None = None
    messages: tuple[Message, ...] | None = None
    references: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    choices: tuple[str, ...] = ()
    answer: int | None = None
    tags: tuple[str, ...] = ()
    split: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["messages"] = None if self.messages is None else [asdict(m) for m in self.messages]
        for key in ("references", "choices", "tags"):
            data[key] = list(data[key])
        return data


@dataclass(frozen=True)
class Output:
    """What a system produced for one case, as scorers see it."""

    text: str
    choice: int | None = None  # multiple choice: the index the system ranked first
    choice_logprobs: tuple[float, ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0


@dataclass(frozen=True)
class MetricValue:
    """An aggregate over cases. Never a bare number: n and an interval come with it."""

    name: str
    value: float
    n: int
    ci_low: float
    ci_high: float
    level: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
