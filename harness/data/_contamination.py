"""Contamination: evaluation cases that the training data already holds.

A fine-tune that saw its test cases scores high for the wrong reason. Each
evaluation case's text is checked against every training example:

- **exact duplicate**: the same words (lower case, punctuation ignored);
- **near duplicate**: Jaccard similarity of word 5-gram shingles at least
  ``near`` (0.8 by default) with one training example;
- **n-gram overlap**: the share of the case's word n-grams (13 by default, the
  GPT-3 paper's choice) found anywhere in the training data; a case shorter
  than n words counts as one n-gram of its own length.

A case is contaminated when it is an exact or near duplicate or shares at least
one n-gram. The result is stored as a run (the training file stands in as the
"system"), so the contamination rate is a metric a gate can hold, with its
n and interval like any other.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finegate.harness.core import Case, MetricValue, sha256_file, sha256_json
from finegate.harness.data._examples import Example, read_examples
from finegate.harness.scorer import compute_metrics
from finegate.harness.store import Store
from finegate.harness.suite import Suite

_WORD = re.compile(r"\w+", re.UNICODE)

SHINGLE = 5


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    if len(tokens) < n:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def jaccard(a: set[Any], b: set[Any]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def case_text(case: Case) -> str:
    if case.input is not None:
        return case.input
    return "\n".join(m.content for m in case.messages or () if m.role != "assistant")


@dataclass(frozen=True)
class CaseContamination:
    case_id: str
    exact_duplicate: bool
    near_duplicate: bool
    best_similarity: float
    ngram_overlap: float
    matches: tuple[int, ...]  # line numbers of the training examples involved

    @property
    def contaminated(self) -> bool:
        return self.exact_duplicate or self.near_duplicate or self.ngram_overlap > 0

    def scores(self) -> dict[str, float]:
        return {
            "contaminated": float(self.contaminated),
            "exact_duplicate": float(self.exact_duplicate),
            "near_duplicate": float(self.near_duplicate),
            "ngram_overlap": self.ngram_overlap,
        }


class TrainingIndex:
    """The training data's n-grams and shingles, indexed once for every case."""

    def __init__(self, examples: Sequence[Example], n: int):
        self.n = n
        self.exact: dict[tuple[str, ...], int] = {}
        self.ngram_lines: dict[tuple[str, ...], int] = {}
        self.shingles: dict[int, set[tuple[str, ...]]] = {}
        self.by_shingle: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for ex in examples:
            for text in (ex.prompt_text, ex.text):
                tokens = words(text)
                self.exact.setdefault(tuple(tokens), ex.line)
                for g in ngrams(tokens, n):
                    self.ngram_lines.setdefault(g, ex.line)
            shingles = ngrams(words(ex.prompt_text), SHINGLE)
            self.shingles[ex.line] = shingles
            for s in shingles:
                self.by_shingle[s].append(ex.line)

    def check(self, case: Case, near: float) -> CaseContamination:
        tokens = words(case_text(case))
        exact_line = self.exact.get(tuple(tokens))
        grams = ngrams(tokens, self.n)
        hits = [self.ngram_lines[g] for g in grams if g in self.ngram_lines]
        overlap = len(hits) / len(grams) if grams else 0.0
        shingles = ngrams(tokens, SHINGLE)
        candidates = {line for s in shingles for line in self.by_shingle.get(s, ())}
        best, best_line = 0.0, None
        for line in candidates:
            sim = jaccard(shingles, self.shingles[line])
            if sim > best:
                best, best_line = sim, line
        matches = {*hits[:20]}
        if exact_line is not None:
            matches.add(exact_line)
        if best >= near and best_line is not None:
            matches.add(best_line)
        return CaseContamination(
            case.id,
            exact_line is not None and bool(tokens),
            best >= near,
            round(best, 6),
            overlap,
            tuple(sorted(matches)),
        )


@dataclass(frozen=True)
class ContaminationResult:
    run_id: str
    cases: list[CaseContamination]
    metrics: list[MetricValue]


# the check the contamination gate accepts: longer n-grams or a higher near-match
# threshold find less, so a run made with either does not count as a check
DEFAULT_NGRAM = 13
DEFAULT_NEAR = 0.8


def check_contamination(
    train_path: str | Path,
    suite: Suite,
    store: Store,
    *,
    n: int = DEFAULT_NGRAM,
    near: float = DEFAULT_NEAR,
    data_format: str | None = None,
) -> ContaminationResult:
    """Check every evaluated case of ``suite`` against a training file; store the result."""
    examples = read_examples(train_path, data_format)
    index = TrainingIndex(examples, n)
    results = [index.check(case, near) for case in suite.cases]
    data_hash = sha256_file(train_path)
    system = {
        "type": "dataset",
        "name": Path(train_path).name,
        "fingerprint": sha256_json({"data": data_hash, "n": n, "near": near}),
        "data_sha256": data_hash,
        "examples": len(examples),
        "ngram": n,
        "near": near,
    }
    run_key = sha256_json({"contamination": system["fingerprint"], "suite": suite.hash})
    run_id = store.create_run(
        run_key=run_key,
        label=None,
        kind="contamination",
        system=system,
        suites=[suite.describe()],
        environment={},
        options={"ngram": n, "near": near},
    )
    records = [
        {
            "suite_id": suite.id,
            "suite_hash": suite.hash,
            "case_id": r.case_id,
            "position": i,
            "request": {"input": case_text(c)},
            "output": {"matches": list(r.matches), "best_similarity": r.best_similarity},
            "scores": r.scores(),
            "facts": {},
        }
        for i, (r, c) in enumerate(zip(results, suite.cases, strict=True))
    ]
    store.add_records(run_id, records)
    metrics = compute_metrics(
        records,
        [],
        level=suite.config.confidence,
        resamples=suite.config.bootstrap_resamples,
        seed=0,
    )
    store.save_metrics(run_id, suite.id, suite.hash, metrics)
    store.finish_run(run_id, status="complete", timings={})
    return ContaminationResult(run_id, results, metrics)
