"""A language model as a judge: grading prompts, lenient verdict reading, pointwise
and pairwise judging, the ``judge`` scorer, and asking a judge for one label.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "JudgeVerdict": "_verdicts",
    "PairwiseVerdict": "_verdicts",
    "judge_pointwise": "_judging",
    "judge_pairwise": "_judging",
    "read_pointwise": "_reading",
    "read_pairwise": "_reading",
    "prompt_hash": "_grading",
    "pairwise_prompt_hash": "_grading",
    "JudgeSpec": "_spec",
    "judge_system": "_spec",
    "JudgeError": "_labels",
    "judge_labels": "_labels",
    "JudgeScorer": "_scorer",
    "judge_scorer": "_scorer",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
