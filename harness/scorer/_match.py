"""Answer-matching scorers: exact match, token F1, label match, regex, multiple choice."""

from __future__ import annotations

import re
from collections import Counter

from finegate.harness.core import Case, Output, normalize_text
from finegate.harness.scorer._registry import Score, ScoreFn, scorer


@scorer("exact_match")
def exact_match(normalize: str = "basic") -> ScoreFn:
    """1 when the answer equals any reference after normalisation."""
    normalize_text("", normalize)  # reject an unknown mode when the suite loads

    def score(case: Case, output: Output) -> Score:
        if not case.references:
            return None
        got = normalize_text(output.text, normalize)
        return float(any(got == normalize_text(r, normalize) for r in case.references))

    return score


def token_f1_of(prediction: str, reference: str, normalize: str = "squad") -> float:
    """SQuAD's token-level F1: the harmonic mean of token precision and recall."""
    pred = normalize_text(prediction, normalize).split()
    ref = normalize_text(reference, normalize).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


@scorer("token_f1")
def token_f1(normalize: str = "squad") -> ScoreFn:
    """Best token F1 against any reference."""
    normalize_text("", normalize)

    def score(case: Case, output: Output) -> Score:
        if not case.references:
            return None
        return max(token_f1_of(output.text, r, normalize) for r in case.references)

    return score


@scorer("label_match")
def label_match(label: str, normalize: str = "basic") -> ScoreFn:
    """1 when the whole answer is the case's label ``label`` (classification by generation)."""
    normalize_text("", normalize)

    def score(case: Case, output: Output) -> Score:
        if label not in case.labels:
            return None
        return float(
            normalize_text(output.text, normalize) == normalize_text(case.labels[label], normalize)
        )

    return score


@scorer("choice_accuracy")
def choice_accuracy() -> ScoreFn:
    """Multiple choice: 1 when the highest-likelihood choice is the answer."""

    def score(case: Case, output: Output) -> Score:
        if case.answer is None or output.choice is None:
            return None
        return float(output.choice == case.answer)

    return score


@scorer("regex_match", reference_free=True)
def regex_match(pattern: str, fullmatch: bool = False) -> ScoreFn:
    """1 when the answer matches ``pattern`` (format compliance)."""
    compiled = re.compile(pattern)

    def score(case: Case, output: Output) -> Score:
        text = output.text.strip()
        m = compiled.fullmatch(text) if fullmatch else compiled.search(output.text)
        return float(m is not None)

    return score
