"""``judge``: a language model grades each answer against a rubric.

Pointwise (the default), each answer gets the judge's score, normalised to 0..1
(``(score - low) / (high - low)``, or the label's score), as the scorer's main
value. Pairwise, the answer is compared with the case's first reference (or the
metadata field ``against``): 1 a win, 0.5 a tie, 0 a loss, with each pair judged
in both orders.

Sub-scores: ``error`` (1 when the judge's verdict could not be read: the main
score is then left out, never counted as a pass), ``pass`` (with
``pass_threshold``: 1 at or above it, 0 below it and 0 on an error),
``agreement`` (with ``repeats`` > 1) and ``inconsistent`` (pairwise: the verdict
flipped with the order). The corpus metric ``errors`` counts the errors. Each
case's facts hold the judge's fingerprint, the prompt hash, its label, reason and
raw reply; the scorer's identity (judge fingerprint and prompt hash) is part of
the suite hash, so another judge or rubric never reuses cached numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finegate.harness.core import Case, InputError, Output, Problem
from finegate.harness.scorer import Scored, scorer
from finegate.harness.system import System

RAW_LIMIT = 2000


def _question(case: Case) -> str:
    if case.input is not None:
        return case.input
    users = [m.content for m in case.messages or () if m.role == "user"]
    return users[-1] if users else ""


class JudgeScorer:
    def __init__(
        self,
        judge: System,
        rubric: str,
        *,
        mode: str = "pointwise",
        labels: Sequence[str] | None = None,
        label_scores: dict[str, float] | None = None,
        scale: Sequence[float] = (1.0, 5.0),
        repeats: int = 1,
        pass_threshold: float | None = None,
        against: str | None = None,
        swap: bool = True,
        temperature: float | None = None,
        max_new_tokens: int = 128,
    ):
        from finegate.harness.judge._grading import pairwise_prompt_hash, prompt_hash

        if mode not in ("pointwise", "pairwise"):
            raise ValueError(f"mode must be pointwise or pairwise, not {mode!r}")
        if len(scale) != 2:
            raise ValueError("scale must be [low, high]")
        self.judge = judge
        self.rubric = rubric
        self.mode = mode
        self.labels = tuple(labels) if labels else None
        self.label_scores = label_scores
        self.scale = (float(scale[0]), float(scale[1]))
        self.repeats = repeats
        self.pass_threshold = pass_threshold
        self.against = against
        self.swap = swap
        self.temperature = temperature
        self.max_new_tokens = max_new_tokens
        self.prompt_hash = (
            prompt_hash(rubric, labels=self.labels, label_scores=label_scores, scale=self.scale)
            if mode == "pointwise"
            else pairwise_prompt_hash(rubric, swap=swap)
        )

    def identity(self) -> dict[str, Any]:
        return {
            "judge": self.judge.fingerprint(),
            "prompt_hash": self.prompt_hash,
            "repeats": self.repeats,
            "temperature": self.temperature,
            "max_new_tokens": self.max_new_tokens,
        }

    def __call__(self, case: Case, output: Output) -> Scored:
        return self.score_batch([case], [output])[0]

    def score_batch(self, cases: Sequence[Case], outputs: Sequence[Output]) -> list[Scored]:
        if self.mode == "pairwise":
            return self._pairwise(cases, outputs)
        from finegate.harness.judge._judging import judge_pointwise

        verdicts = judge_pointwise(
            self.judge,
            self.rubric,
            [(_question(c), o.text) for c, o in zip(cases, outputs, strict=True)],
            labels=self.labels,
            repeats=self.repeats,
            label_scores=self.label_scores,
            scale=self.scale,
            temperature=self.temperature,
            max_new_tokens=self.max_new_tokens,
        )
        lo, hi = self.scale
        out = []
        for v in verdicts:
            value: float | None = v.score
            if value is not None and not self.labels:
                value = (value - lo) / (hi - lo)
            scores: dict[str, float | None] = {"": value, "error": float(v.error is not None)}
            if self.pass_threshold is not None:
                scores["pass"] = float(value is not None and value >= self.pass_threshold)
            if self.repeats > 1:
                scores["agreement"] = v.agreement
            facts = {**v.to_dict(), "raw": v.raw[:RAW_LIMIT]}
            out.append(Scored(scores, facts))
        return out

    def _pairwise(self, cases: Sequence[Case], outputs: Sequence[Output]) -> list[Scored]:
        from finegate.harness.judge._judging import judge_pairwise

        items, missing = [], []
        for i, (case, output) in enumerate(zip(cases, outputs, strict=True)):
            other = case.metadata.get(self.against) if self.against else None
            if other is None and not self.against and case.references:
                other = case.references[0]
            if other is None:
                missing.append(i)
                continue
            items.append((_question(case), output.text, str(other)))
        verdicts = iter(
            judge_pairwise(
                self.judge,
                self.rubric,
                items,
                swap=self.swap,
                temperature=self.temperature,
                max_new_tokens=self.max_new_tokens,
            )
        )
        out = []
        for i in range(len(cases)):
            if i in missing:  # nothing to compare with: the case does not apply
                out.append(Scored({"": None}))
                continue
            v = next(verdicts)
            scores: dict[str, float | None] = {"": v.score, "error": float(v.error is not None)}
            if self.swap:
                scores["inconsistent"] = None if v.consistent is None else float(not v.consistent)
            facts = {**v.to_dict(), "raw": [r[:RAW_LIMIT] for r in v.raw]}
            out.append(Scored(scores, facts))
        return out

    def aggregate(self, facts: list[dict[str, Any]]) -> dict[str, float]:
        return {"errors": float(sum(1 for f in facts if f.get("error")))}


@scorer("judge")
def judge_scorer(
    judge: dict[str, Any] | str | System,
    rubric: str | None = None,
    rubric_file: str | None = None,
    **options: Any,
) -> JudgeScorer:
    """``judge``: the judge's configuration (see ``JudgeSpec``: ``{model: ...}``,
    ``{endpoint: ..., model: ..., api_key_env: ...}`` or ``{python: module:attr}``),
    or a System. ``rubric`` or ``rubric_file`` (text). Other options as
    ``JudgeScorer``: mode, labels, label_scores, scale, repeats, pass_threshold,
    against, swap, temperature, max_new_tokens."""
    from finegate.harness.judge._spec import judge_system

    if (rubric is None) == (rubric_file is None):
        raise ValueError("give exactly one of rubric and rubric_file")
    if rubric_file is not None:
        path = Path(rubric_file)
        if not path.is_file():
            raise InputError(Problem("rubric file not found", file=str(path), field="rubric_file"))
        rubric = path.read_text("utf-8")
    system = judge if isinstance(judge, System) else judge_system(judge)
    return JudgeScorer(system, rubric or "", **options)
