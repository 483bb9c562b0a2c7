"""What an answer costs: tokens, length, latency (with percentiles)."""

from __future__ import annotations

from typing import Any

import numpy as np

from finegate.harness._scorers import Scored, ScoreFn, scorer
from finegate.harness._types import Case, Output


@scorer("answer_tokens")
def answer_tokens() -> ScoreFn:
    """Tokens in the answer, and in the prompt: what a request costs."""

    def score(case: Case, output: Output) -> dict[str, float | None]:
        return {
            "completion": float(output.completion_tokens),
            "prompt": float(output.prompt_tokens),
        }

    return score


@scorer("length")
def length() -> ScoreFn:
    """Characters and words in the answer."""

    def score(case: Case, output: Output) -> dict[str, float | None]:
        return {"chars": float(len(output.text)), "words": float(len(output.text.split()))}

    return score


class LatencyScorer:
    """Seconds per request, with p50 and p95 over the suite.

    A batched model answers a whole batch at once: each request's latency is the
    wall time of the batch that answered it, what a caller of that batch waited.
    """

    def __call__(self, case: Case, output: Output) -> Scored:
        return Scored({"": output.latency_s}, {"latency_s": output.latency_s})

    def aggregate(self, facts: list[dict[str, Any]]) -> dict[str, float]:
        values = np.array([f["latency_s"] for f in facts if "latency_s" in f], dtype=float)
        if values.size == 0:
            return {}
        p50, p95 = np.quantile(values, [0.5, 0.95])
        return {"p50": float(p50), "p95": float(p95)}

    def aggregate_resampled(
        self, facts: list[dict[str, Any]], idx: np.ndarray
    ) -> dict[str, np.ndarray]:
        values = np.array([f.get("latency_s", np.nan) for f in facts], dtype=float)[idx]
        p50, p95 = np.nanquantile(values, [0.5, 0.95], axis=1)
        return {"p50": p50, "p95": p95}


@scorer("latency")
def latency() -> ScoreFn:
    return LatencyScorer()
