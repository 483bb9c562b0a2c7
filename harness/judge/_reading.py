"""Reading a judge's reply, leniently: a JSON object (in a code fence or amid
prose), a ``score: 4`` line or a lone label word. What still cannot be read is
an error, never a guess."""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass
from typing import Any

from finegate.harness.core import parse_json_answer
from finegate.harness.judge._grading import _Grading, _num

_SCORE_LINE = re.compile(r"\b(?:score|rating)\b\s*[:=]?\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)

_WINNER_LINE = re.compile(r"\b(?:winner|better|verdict)\b\s*[:=]?\s*\"?(A|B|tie)\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Read:
    score: float | None
    label: str | None
    reason: str | None
    error: str | None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*\d+(?:\.\d+)?)?\s*", value)
        if m:
            return float(m.group(1))
    return None


def _match_label(value: Any, labels: tuple[str, ...]) -> str | None:
    if not isinstance(value, str):
        return None
    wanted = value.strip().strip("\"'.").lower()
    return next((label for label in labels if label.lower() == wanted), None)


def _lone_label(text: str, labels: tuple[str, ...]) -> str | None:
    """The one label that occurs in the text as a word, if exactly one does."""
    found = [
        label
        for label in labels
        if re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", text, re.IGNORECASE)
    ]
    return found[0] if len(found) == 1 else None


def read_pointwise(text: str, grading: _Grading) -> _Read:
    """A pointwise verdict from a judge's reply, leniently."""
    data: Any = None
    with contextlib.suppress(ValueError):
        data = parse_json_answer(text)
    reason = None
    if isinstance(data, dict):
        lowered = {str(k).lower(): v for k, v in data.items()}
        reason = lowered.get("reason") or lowered.get("explanation")
        reason = str(reason) if reason is not None else None
        if grading.labels:
            label = _match_label(lowered.get("label", lowered.get("verdict")), grading.labels)
            if label is not None:
                return _Read(grading.label_scores.get(label), label, reason, None)
            given = lowered.get("label", lowered.get("verdict"))
            if given is not None:
                return _Read(
                    None,
                    None,
                    reason,
                    f"label {given!r} is not one of {', '.join(grading.labels)}",
                )
        else:
            score = _as_float(lowered.get("score", lowered.get("rating")))
            if score is not None:
                return _in_scale(score, grading, reason)
    if grading.labels:
        label = _lone_label(text, grading.labels)
        if label is not None:
            return _Read(grading.label_scores.get(label), label, reason, None)
        return _Read(None, None, reason, "no label in the judge's reply")
    m = _SCORE_LINE.search(text)
    if m:
        return _in_scale(float(m.group(1)), grading, reason)
    return _Read(None, None, reason, "no score in the judge's reply")


def _in_scale(score: float, grading: _Grading, reason: str | None) -> _Read:
    lo, hi = grading.scale
    if not lo <= score <= hi:
        return _Read(None, None, reason, f"score {_num(score)} is outside {_num(lo)}..{_num(hi)}")
    return _Read(score, None, reason, None)


def read_pairwise(text: str) -> _Read:
    """``A``, ``B`` or ``tie`` from a judge's reply, leniently."""
    data: Any = None
    with contextlib.suppress(ValueError):
        data = parse_json_answer(text)
    reason = None
    if isinstance(data, dict):
        lowered = {str(k).lower(): v for k, v in data.items()}
        reason = lowered.get("reason")
        reason = str(reason) if reason is not None else None
        winner = _match_label(lowered.get("winner", lowered.get("better")), ("A", "B", "tie"))
        if winner is not None:
            return _Read(None, winner, reason, None)
    m = _WINNER_LINE.search(text)
    if m:
        return _Read(None, _match_label(m.group(1), ("A", "B", "tie")), reason, None)
    return _Read(None, None, reason, "no winner (A, B or tie) in the judge's reply")
