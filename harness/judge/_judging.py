"""A language model as a judge: rubric grading of answers, pointwise and pairwise.

A judge is any ``System``; it is asked for a JSON verdict. Reading the verdict is
lenient (a code fence, prose around the JSON, a plain ``score: 4`` line or a lone
label word are accepted); an answer that still cannot be read is asked again once,
with a stricter instruction, and if that fails too the verdict is an **error**:
``score`` is ``None`` and ``error`` says why. A judge that cannot answer never
counts as a pass.

Two checks of the judge itself come with the verdicts:

- **self-consistency**: with ``repeats=k`` the judge answers k times (sampled,
  seeds 0..k-1); the verdict is the majority label (or the mean score) and
  ``agreement`` the share of answers that agree with it;
- **position swap** (pairwise): each pair is judged in both orders; a verdict that
  follows the position rather than the answer is reported as inconsistent and
  counted as a tie.

Each verdict carries the judge's fingerprint and the hash of the grading prompt
(template, rubric, labels, scale), so a stored score says exactly who graded it
and how.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from finegate.harness.core import GenerateRequest, GenerationParams, InputError, Message, Problem
from finegate.harness.judge._grading import (
    PAIRWISE,
    POINTWISE,
    STRICT,
    _Grading,
    _grading,
    pairwise_prompt_hash,
)
from finegate.harness.judge._reading import _Read, read_pairwise, read_pointwise
from finegate.harness.judge._verdicts import JudgeVerdict, PairwiseVerdict
from finegate.harness.system import System


def _params(repeat: int, repeats: int, temperature: float | None, max_new_tokens: int) -> Any:
    if temperature is None:
        temperature = 0.0 if repeats == 1 else 0.7
    return GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=repeat)


def _ask(
    judge: System,
    prompts: Sequence[str],
    params: Sequence[GenerationParams],
    read: Any,
    schema: str,
) -> list[tuple[_Read, str, int]]:
    """Ask each prompt once; ask the unreadable ones again, once, more strictly.
    Returns the reading, the raw reply (both replies when retried) and attempts."""
    first = judge.generate(
        [GenerateRequest((Message("user", p),), q) for p, q in zip(prompts, params, strict=True)]
    )
    results: list[tuple[_Read, str, int]] = [(read(g.text), g.text, 1) for g in first]
    again = [i for i, (r, _, _) in enumerate(results) if r.error is not None]
    if again:
        retries = judge.generate(
            [
                GenerateRequest(
                    (
                        Message("user", prompts[i]),
                        Message("assistant", first[i].text),
                        Message("user", STRICT.format(schema=schema)),
                    ),
                    params[i],
                )
                for i in again
            ]
        )
        for i, g in zip(again, retries, strict=True):
            r = read(g.text)
            raw = f"{first[i].text}\n--- retry ---\n{g.text}"
            if r.error is not None:
                r = _Read(None, None, r.reason, f"unreadable after a retry: {r.error}")
            results[i] = (r, raw, 2)
    return results


def _combine(
    reads: list[tuple[_Read, str, int]], grading: _Grading, fingerprint: str, prompt_hash: str
) -> JudgeVerdict:
    """One verdict from k answers: the majority label or the mean score."""
    ok = [r for r, _, _ in reads if r.error is None]
    raw = reads[0][1] if len(reads) == 1 else "\n=== repeat ===\n".join(t for _, t, _ in reads)
    attempts = sum(a for _, _, a in reads)
    if not ok:
        return JudgeVerdict(
            None, None, reads[0][0].error, raw, fingerprint, prompt_hash, None, attempts, 0, None
        )
    if grading.labels:
        counts = Counter(r.label for r in ok)
        top = max(counts.values())
        # ties between labels go to the worst-scoring one: doubt never passes
        label = min(
            (lab for lab, c in counts.items() if c == top),
            key=lambda lab: (grading.label_scores.get(lab or "", 0.0), grading.labels.index(lab)),
        )
        score = grading.label_scores.get(label or "")
        agreement = top / len(ok)
        reason = next(r.reason for r in ok if r.label == label)
    else:
        scores = [r.score for r in ok if r.score is not None]
        score = math.fsum(scores) / len(scores)
        mode = Counter(scores).most_common(1)[0][1]
        agreement, label = mode / len(scores), None
        reason = ok[0].reason
    return JudgeVerdict(
        score, label, None, raw, fingerprint, prompt_hash, reason, attempts, len(ok), agreement
    )


def judge_pointwise(
    judge: System,
    rubric: str,
    items: Sequence[tuple[str, str]],
    *,
    labels: Sequence[str] | None = None,
    repeats: int = 1,
    label_scores: Mapping[str, float] | None = None,
    scale: tuple[float, float] = (1.0, 5.0),
    temperature: float | None = None,
    max_new_tokens: int = 128,
) -> list[JudgeVerdict]:
    """Grade each (prompt, answer) pair against ``rubric``.

    Without ``labels`` the judge gives a score on ``scale``; with them it picks a
    label, whose score is ``label_scores[label]`` (by default 1 for the first label
    and 0 for the others: list labels best first). ``repeats`` > 1 samples the
    judge (temperature 0.7 unless given) and reports its agreement.
    """
    if repeats < 1:
        raise InputError(Problem("repeats must be at least 1", field="repeats"))
    grading = _grading(rubric, labels, label_scores, scale)
    fingerprint, prompt_hash = judge.fingerprint(), grading.hash("pointwise")
    prompts, params = [], []
    for prompt, answer in items:
        text = POINTWISE.format(
            rubric=grading.rubric, prompt=prompt, answer=answer, instruction=grading.instruction
        )
        for k in range(repeats):
            prompts.append(text)
            params.append(_params(k, repeats, temperature, max_new_tokens))
    reads = _ask(judge, prompts, params, lambda t: read_pointwise(t, grading), grading.schema)
    return [
        _combine(reads[i * repeats : (i + 1) * repeats], grading, fingerprint, prompt_hash)
        for i in range(len(items))
    ]


_PAIR_SCHEMA = '{"winner": "A" | "B" | "tie", "reason": "<one sentence>"}'

_FLIP = {"A": "B", "B": "A", "tie": "tie"}


def judge_pairwise(
    judge: System,
    rubric: str,
    items: Sequence[tuple[str, str, str]],
    *,
    swap: bool = True,
    temperature: float | None = None,
    max_new_tokens: int = 128,
) -> list[PairwiseVerdict]:
    """For each (prompt, answer A, answer B): which answer the rubric prefers.

    With ``swap`` each pair is also judged with B shown first; when the two
    verdicts disagree the pair is a tie and ``consistent`` is False.
    """
    grading = _grading(rubric, None, None, (1.0, 5.0))
    fingerprint = judge.fingerprint()
    hashed = pairwise_prompt_hash(rubric, swap=swap)
    instruction = f"Reply with only a JSON object: {_PAIR_SCHEMA}"
    prompts = []
    for prompt, a, b in items:
        prompts.append(
            PAIRWISE.format(rubric=grading.rubric, prompt=prompt, a=a, b=b, instruction=instruction)
        )
        if swap:
            prompts.append(
                PAIRWISE.format(
                    rubric=grading.rubric, prompt=prompt, a=b, b=a, instruction=instruction
                )
            )
    params = [_params(0, 1, temperature, max_new_tokens)] * len(prompts)
    reads = _ask(judge, prompts, params, read_pairwise, _PAIR_SCHEMA)
    per = 2 if swap else 1
    out = []
    for i in range(len(items)):
        mine = reads[i * per : (i + 1) * per]
        raw = tuple(t for _, t, _ in mine)
        errors = [r.error for r, _, _ in mine if r.error is not None]
        if errors:
            out.append(PairwiseVerdict(None, None, errors[0], raw, fingerprint, hashed))
            continue
        first = mine[0][0].label
        if not swap:
            out.append(PairwiseVerdict(first, None, None, raw, fingerprint, hashed, first))
            continue
        swapped = _FLIP[mine[1][0].label or "tie"]
        consistent = first == swapped
        winner = first if consistent else "tie"
        out.append(
            PairwiseVerdict(winner, consistent, None, raw, fingerprint, hashed, first, swapped)
        )
    return out
