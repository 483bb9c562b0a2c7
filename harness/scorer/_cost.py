"""What an answer costs: tokens, length, latency (with percentiles and tokens/s), money."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from finegate.harness.core import Case, Output
from finegate.harness.scorer._registry import Scored, ScoreFn, scorer


@scorer("answer_tokens", reference_free=True)
def answer_tokens() -> ScoreFn:
    """Tokens in the answer, and in the prompt: what a request costs."""

    def score(case: Case, output: Output) -> dict[str, float | None]:
        return {
            "completion": float(output.completion_tokens),
            "prompt": float(output.prompt_tokens),
        }

    return score


@scorer("length", reference_free=True)
def length() -> ScoreFn:
    """Characters and words in the answer."""

    def score(case: Case, output: Output) -> dict[str, float | None]:
        return {"chars": float(len(output.text)), "words": float(len(output.text.split()))}

    return score


class LatencyScorer:
    """Seconds per request, with percentiles over the suite (p50 and p95 unless
    ``percentiles`` names others, e.g. ``[50, 95, 99]``), and tokens/s.

    A batched model answers a whole batch at once: each request's latency is the
    wall time of the batch that answered it, what a caller of that batch waited.
    ``tokens_per_s`` is the answers' tokens over the seconds waited for them
    (summed over requests): the decoding speed a caller sees, not the server's
    total throughput.
    """

    def __init__(self, percentiles: Sequence[float] = (50, 95)):
        if not percentiles or any(not 0 < p < 100 for p in percentiles):
            raise ValueError("percentiles must lie strictly between 0 and 100")
        self.quantiles = {f"p{p:g}": p / 100 for p in percentiles}

    def __call__(self, case: Case, output: Output) -> Scored:
        return Scored(
            {"": output.latency_s},
            {"latency_s": output.latency_s, "completion_tokens": output.completion_tokens},
        )

    def aggregate(self, facts: list[dict[str, Any]]) -> dict[str, float]:
        values = np.array([f["latency_s"] for f in facts if "latency_s" in f], dtype=float)
        if values.size == 0:
            return {}
        points = np.quantile(values, list(self.quantiles.values()))
        out = {k: float(v) for k, v in zip(self.quantiles, points, strict=True)}
        tokens = [f["completion_tokens"] for f in facts if "completion_tokens" in f]
        if len(tokens) == values.size and values.sum() > 0:
            out["tokens_per_s"] = float(np.sum(tokens) / values.sum())
        return out

    def aggregate_resampled(
        self, facts: list[dict[str, Any]], idx: np.ndarray
    ) -> dict[str, np.ndarray]:
        values = np.array([f.get("latency_s", np.nan) for f in facts], dtype=float)
        drawn = values[idx]
        quantiles = np.nanquantile(drawn, list(self.quantiles.values()), axis=1)
        out = dict(zip(self.quantiles, quantiles, strict=True))
        if all("completion_tokens" in f for f in facts):
            tokens = np.array([f["completion_tokens"] for f in facts], dtype=float)[idx]
            with np.errstate(divide="ignore", invalid="ignore"):
                out["tokens_per_s"] = tokens.sum(axis=1) / np.nansum(drawn, axis=1)
        return out


@scorer("latency", version="2", reference_free=True)
def latency(percentiles: Sequence[float] = (50, 95)) -> ScoreFn:
    return LatencyScorer(percentiles)


@scorer("cost", reference_free=True)
def cost(prompt_price: float, completion_price: float, currency: str = "USD") -> ScoreFn:
    """What 1,000 requests like each case cost at prices per million tokens
    (``prompt_price`` for prompt tokens, ``completion_price`` for completion
    tokens); its mean over the suite, ``cost.per_1000_requests``, is the cost of
    1,000 requests with a bootstrap interval, the same figure as
    ``finegate compare --prompt-price --completion-price``."""
    if prompt_price < 0 or completion_price < 0:
        raise ValueError("prices must not be negative")

    def score(case: Case, output: Output) -> dict[str, float | None]:
        per_request = (
            output.prompt_tokens * prompt_price + output.completion_tokens * completion_price
        ) / 1e6
        return {"per_1000_requests": 1000 * per_request}

    score.currency = currency  # type: ignore[attr-defined]
    return score
