"""Per-case scorers and their registry.

A scorer is registered by name with ``@scorer`` on a factory: the suite's YAML
names it and passes ``args``, the factory returns the function that scores one
case. Scores are floats (``None`` where a case is not applicable) or a dict of
named floats. Third-party scorers register the same way, or through the
``finegate.scorers`` entry point group.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from typing import Any, Protocol

from finegate.harness._registry import Registry
from finegate.harness._types import Case, Output

Score = float | None
Scores = Score | dict[str, Score]


class ScoreFn(Protocol):
    def __call__(self, case: Case, output: Output) -> Scores: ...


ScorerFactory = Callable[..., ScoreFn]

scorers: Registry[ScorerFactory] = Registry("scorer", "finegate.scorers")


def scorer(
    name: str | None = None, *, version: str = "1"
) -> Callable[[ScorerFactory], ScorerFactory]:
    """Register a scorer factory. Bump ``version`` when its scores change: it is
    part of every suite hash that uses it, so stale cached results are not reused."""

    def wrap(factory: ScorerFactory) -> ScorerFactory:
        factory.scorer_version = version  # type: ignore[attr-defined]
        return scorers.decorator(name or factory.__name__)(factory)

    return wrap


def scorer_version(name: str) -> str:
    return str(getattr(scorers.get(name), "scorer_version", "1"))


# -- text normalisation -----------------------------------------------------------------

_PUNCT = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_text(text: str, mode: str = "basic") -> str:
    """``none``: as is; ``strip``: outer whitespace; ``basic``: lower-case, no
    punctuation, collapsed spaces; ``squad``: basic without English articles."""
    if mode == "none":
        return text
    if mode == "strip":
        return text.strip()
    out = text.lower().translate(_PUNCT)
    if mode == "squad":
        out = _ARTICLES.sub(" ", out)
    elif mode != "basic":
        raise ValueError(f"unknown normalisation {mode!r} (none, strip, basic, squad)")
    return " ".join(out.split())


_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)


def parse_json_answer(text: str, *, strict: bool = False) -> Any:
    """The JSON value in a model's answer, or raise ``ValueError``.

    Lenient by default, as users' parsers are: a code fence around the JSON, or
    prose before and after it, is accepted; the first complete object wins.
    ``strict`` accepts only an answer that is JSON and nothing else.
    """
    candidate = text.strip()
    if not strict:
        fenced = _FENCE.match(candidate)
        if fenced:
            candidate = fenced.group(1).strip()
    try:
        return json.loads(candidate)
    except json.JSONDecodeError:
        if strict:
            raise ValueError("answer is not JSON") from None
    decoder = json.JSONDecoder()
    start = candidate.find("{")
    while start != -1:
        try:
            return decoder.raw_decode(candidate, start)[0]
        except json.JSONDecodeError:
            start = candidate.find("{", start + 1)
    raise ValueError("no JSON object in the answer")


# -- built-in scorers -------------------------------------------------------------------


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


@scorer("json_valid")
def json_valid(strict: bool = False) -> ScoreFn:
    """1 when the answer holds a JSON object (see ``parse_json_answer``)."""

    def score(case: Case, output: Output) -> Score:
        try:
            return float(isinstance(parse_json_answer(output.text, strict=strict), dict))
        except ValueError:
            return 0.0

    return score


@scorer("json_field_match")
def json_field_match(field: str, label: str | None = None, normalize: str = "basic") -> ScoreFn:
    """1 when field ``field`` of the answer's JSON equals the expected value.

    The expected value is the case's label ``label`` when given, else the same
    field of the first reference parsed as JSON. An answer without valid JSON
    scores 0: a wrong format is a wrong answer.
    """
    normalize_text("", normalize)

    def expected(case: Case) -> str | None:
        if label is not None:
            return case.labels.get(label)
        if not case.references:
            return None
        try:
            ref = json.loads(case.references[0])
        except json.JSONDecodeError:
            return None
        value = ref.get(field) if isinstance(ref, dict) else None
        return None if value is None else str(value)

    def score(case: Case, output: Output) -> Score:
        want = expected(case)
        if want is None:
            return None
        try:
            got = parse_json_answer(output.text)
        except ValueError:
            return 0.0
        if not isinstance(got, dict) or field not in got:
            return 0.0
        return float(normalize_text(str(got[field]), normalize) == normalize_text(want, normalize))

    return score


@scorer("choice_accuracy")
def choice_accuracy() -> ScoreFn:
    """Multiple choice: 1 when the highest-likelihood choice is the answer."""

    def score(case: Case, output: Output) -> Score:
        if case.answer is None or output.choice is None:
            return None
        return float(output.choice == case.answer)

    return score


@scorer("regex_match")
def regex_match(pattern: str, fullmatch: bool = False) -> ScoreFn:
    """1 when the answer matches ``pattern`` (format compliance)."""
    compiled = re.compile(pattern)

    def score(case: Case, output: Output) -> Score:
        m = compiled.fullmatch(output.text.strip()) if fullmatch else compiled.search(output.text)
        return float(m is not None)

    return score


@scorer("answer_tokens")
def answer_tokens() -> ScoreFn:
    """Tokens in the answer, and in the prompt: what a request costs."""

    def score(case: Case, output: Output) -> Scores:
        return {
            "completion": float(output.completion_tokens),
            "prompt": float(output.prompt_tokens),
        }

    return score
