"""The grading prompts a judge is asked, and the hash that names them.

A stored score says exactly how it was graded: the template version, the
rubric, the labels and their scores, the scale; change any of them and the hash
changes, so cached judgements are never reused for another grading."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from finegate.harness.core import InputError, Problem, sha256_json

TEMPLATE_VERSION = "1"


POINTWISE = """You are grading an answer against a rubric.

Rubric:
{rubric}

Question:
{prompt}

Answer to grade:
{answer}

{instruction}"""


PAIRWISE = """You are comparing two answers to the same question against a rubric.

Rubric:
{rubric}

Question:
{prompt}

Answer A:
{a}

Answer B:
{b}

{instruction}"""


STRICT = (
    "Your previous reply could not be read. Reply again with only the JSON object, "
    "on one line, with no other text: {schema}"
)


@dataclass(frozen=True)
class _Grading:
    rubric: str
    labels: tuple[str, ...]
    label_scores: dict[str, float]
    scale: tuple[float, float]

    @property
    def schema(self) -> str:
        if self.labels:
            options = " | ".join(f'"{label}"' for label in self.labels)
            return f'{{"label": {options}, "reason": "<one sentence>"}}'
        lo, hi = (_num(v) for v in self.scale)
        return f'{{"score": <a number from {lo} to {hi}>, "reason": "<one sentence>"}}'

    @property
    def instruction(self) -> str:
        return f"Reply with only a JSON object: {self.schema}"

    def hash(self, kind: str) -> str:
        return sha256_json(
            {
                "template": TEMPLATE_VERSION,
                "kind": kind,
                "prompt": POINTWISE if kind == "pointwise" else PAIRWISE,
                "strict": STRICT,
                "rubric": self.rubric,
                "labels": list(self.labels),
                "label_scores": self.label_scores,
                "scale": list(self.scale),
            }
        )


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _grading(
    rubric: str,
    labels: Sequence[str] | None,
    label_scores: Mapping[str, float] | None,
    scale: tuple[float, float],
) -> _Grading:
    if not rubric.strip():
        raise InputError(Problem("the rubric is empty", field="rubric"))
    labels_t = tuple(labels or ())
    if len(set(label.lower() for label in labels_t)) != len(labels_t):
        raise InputError(Problem("labels must be distinct", field="labels"))
    if label_scores is not None:
        unknown = sorted(set(label_scores) - set(labels_t))
        if unknown:
            raise InputError(
                Problem(f"scores given for unknown labels: {', '.join(unknown)}", field="labels")
            )
        scores = {k: float(v) for k, v in label_scores.items()}
    else:  # labels read best first: the first passes, the others fail
        scores = {label: 1.0 if i == 0 else 0.0 for i, label in enumerate(labels_t)}
    lo, hi = float(scale[0]), float(scale[1])
    if not lo < hi:
        raise InputError(
            Problem(f"scale must be (low, high) with low < high: {scale}", field="scale")
        )
    return _Grading(rubric.strip(), labels_t, scores, (lo, hi))


def prompt_hash(
    rubric: str,
    *,
    labels: Sequence[str] | None = None,
    label_scores: Mapping[str, float] | None = None,
    scale: tuple[float, float] = (1.0, 5.0),
) -> str:
    """The hash ``judge_pointwise`` records with its verdicts for this grading."""
    return _grading(rubric, labels, label_scores, scale).hash("pointwise")


def pairwise_prompt_hash(rubric: str, *, swap: bool = True) -> str:
    """The hash ``judge_pairwise`` records with its verdicts for this grading."""
    return sha256_json(
        {"pairwise": _grading(rubric, None, None, (1.0, 5.0)).hash("pairwise"), "swap": swap}
    )
