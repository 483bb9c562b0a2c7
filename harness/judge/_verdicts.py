"""What a judge decided about one answer (pointwise) or one pair (pairwise)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JudgeVerdict:
    """One graded answer. ``score`` is ``None`` exactly when the judge failed
    (``error`` says why) or gave a label that has no score."""

    score: float | None
    label: str | None
    error: str | None
    raw: str
    judge: str
    prompt_hash: str
    reason: str | None = None
    attempts: int = 1
    votes: int = 1  # readable answers among the repeats
    agreement: float | None = None  # share of readable answers that agree with the verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "label": self.label,
            "error": self.error,
            "raw": self.raw,
            "judge": self.judge,
            "prompt_hash": self.prompt_hash,
            "reason": self.reason,
            "attempts": self.attempts,
            "votes": self.votes,
            "agreement": self.agreement,
        }


@dataclass(frozen=True)
class PairwiseVerdict:
    """Which of two answers the judge prefers: ``"A"``, ``"B"``, ``"tie"`` or
    ``None`` (an error). ``consistent`` is False when swapping the answers' places
    changed the verdict; such a pair is a tie."""

    winner: str | None
    consistent: bool | None
    error: str | None
    raw: tuple[str, ...]
    judge: str
    prompt_hash: str
    first: str | None = None  # verdict with A shown first
    swapped: str | None = None  # verdict with B shown first, mapped back to A/B

    @property
    def score(self) -> float | None:
        """1 when A wins, 0.5 for a tie, 0 when B wins, ``None`` on error."""
        return {"A": 1.0, "tie": 0.5, "B": 0.0}.get(self.winner or "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "winner": self.winner,
            "consistent": self.consistent,
            "error": self.error,
            "raw": list(self.raw),
            "judge": self.judge,
            "prompt_hash": self.prompt_hash,
            "first": self.first,
            "swapped": self.swapped,
        }
