"""Asking a judge for one label per answer, where no verdict is not an option.

Detectors and rules built on a judge (refusal, a policy rule) need a decision
for every case; a judge that cannot give one makes the case unscorable, and the
run fails with ``JudgeError`` rather than counting the case as a pass.
"""

from __future__ import annotations

from collections.abc import Sequence

from finegate.harness.core import FinegateError
from finegate.harness.judge._judging import judge_pointwise
from finegate.harness.system import System


class JudgeError(FinegateError):
    """An LLM judge failed to give a verdict on a case: the case cannot be scored."""


def judge_labels(
    judge: System,
    rubric: str,
    items: Sequence[tuple[str, str]],
    labels: Sequence[str],
    *,
    repeats: int = 1,
    who: str = "the judge",
) -> list[str]:
    """One of ``labels`` for each (prompt, answer); ``JudgeError`` (naming ``who``,
    the judge and its raw reply) on the first answer the judge could not label."""
    verdicts = judge_pointwise(judge, rubric, list(items), labels=list(labels), repeats=repeats)
    out = []
    for v in verdicts:
        if v.error is not None or v.label not in labels:
            raise JudgeError(
                f"{who} {v.judge} gave no verdict ({v.error or f'label {v.label!r}'}); "
                f"raw answer: {v.raw[:200]!r}"
            )
        out.append(v.label)
    return out
