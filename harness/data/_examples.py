"""Training-data files as finegate reads them: chat, alpaca and prompt/completion JSONL.

Harness owns this reader so that contamination checks and PII scans (harness)
and the training data pipeline (train) read the same formats the same way.
Every malformed line is reported as ``file:line: field: problem``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, Message, Problem, jsonl_objects

FORMATS = ("chat", "alpaca", "prompt_completion", "text")

_ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Example:
    """One training example in one internal form: a conversation whose last
    assistant turn is the target."""

    line: int
    format: str
    messages: tuple[Message, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt_text(self) -> str:
        """Everything the model is given (system and user turns)."""
        return "\n".join(m.content for m in self.messages if m.role != "assistant")

    @property
    def target_text(self) -> str:
        return "\n".join(m.content for m in self.messages if m.role == "assistant")

    @property
    def text(self) -> str:
        return "\n".join(m.content for m in self.messages)


def _detect(obj: dict[str, Any]) -> str | None:
    if "messages" in obj:
        return "chat"
    if "instruction" in obj:
        return "alpaca"
    if "prompt" in obj or "completion" in obj:
        return "prompt_completion"
    if "text" in obj:
        return "text"
    return None


Issue = tuple[str | None, str]  # (field, message)


def _string(obj: dict[str, Any], key: str, problems: list[Issue], optional: bool = False) -> str:
    value = obj.get(key)
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        problems.append((key, "required field is missing" if value is None else "must be text"))
        return ""
    return value


def parse_example(
    obj: dict[str, Any], line: int, fmt: str | None = None
) -> tuple[Example | None, list[Issue]]:
    """One JSON object as an ``Example``, or the problems it has."""
    fmt = fmt or _detect(obj)
    problems: list[Issue] = []
    messages: list[Message] = []
    if fmt == "chat":
        raw = obj.get("messages")
        if not isinstance(raw, list) or not raw:
            return None, [("messages", "must be a non-empty list of {role, content}")]
        for i, m in enumerate(raw):
            if (
                not isinstance(m, dict)
                or m.get("role") not in _ROLES
                or not isinstance(m.get("content"), str)
            ):
                problems.append(
                    (f"messages[{i}]", "needs a role (system, user, assistant) and content text")
                )
                continue
            messages.append(Message(m["role"], m["content"]))
        if messages and messages[-1].role != "assistant":
            problems.append(("messages", "the last message must be the assistant's answer"))
        known = {"messages"}
    elif fmt == "alpaca":
        instruction = _string(obj, "instruction", problems)
        extra_input = _string(obj, "input", problems, optional=True)
        output = _string(obj, "output", problems)
        user = f"{instruction}\n\n{extra_input}" if extra_input else instruction
        messages = [Message("user", user), Message("assistant", output)]
        known = {"instruction", "input", "output"}
    elif fmt == "prompt_completion":
        messages = [
            Message("user", _string(obj, "prompt", problems)),
            Message("assistant", _string(obj, "completion", problems)),
        ]
        known = {"prompt", "completion"}
    elif fmt == "text":
        messages = [Message("assistant", _string(obj, "text", problems))]
        known = {"text"}
    else:
        return None, [
            (
                None,
                "unknown format: expected 'messages' (chat), 'instruction' and "
                "'output' (alpaca), 'prompt' and 'completion', or 'text'",
            )
        ]
    if problems:
        return None, problems
    extra = {k: v for k, v in obj.items() if k not in known}
    return Example(line, fmt, tuple(messages), extra), []


def read_examples(path: str | Path, fmt: str | None = None) -> list[Example]:
    """Every example of a JSONL training file; all bad lines reported at once."""
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"unknown data format {fmt!r} ({', '.join(FORMATS)})")
    examples: list[Example] = []
    problems: list[Problem] = []
    for lineno, obj in jsonl_objects(path, problems):
        example, errors = parse_example(obj, lineno, fmt)
        problems += [
            Problem(message, file=str(path), line=lineno, field=field_name)
            for field_name, message in errors
        ]
        if example is not None:
            examples.append(example)
    if problems:
        raise InputError(problems)
    return examples
