"""From per-case scores to metrics, and the scoring of a chunk of cases.

Two kinds of metric come out of a suite's scorers:

- a **mean** of a per-case score (accuracy, ROUGE-L, tokens), with a Wilson
  interval for rates and a seeded bootstrap otherwise;
- a **corpus** statistic from the scorer's ``aggregate`` over the cases' facts
  (macro F1, latency p95), with a seeded bootstrap over cases.

Both are computed from stored records in suite order, so the same records give
the same numbers whether the run was resumed or not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from finegate.harness._scorers import LoadedScorer, score_all
from finegate.harness._stats import summarize
from finegate.harness._types import Case, MetricValue, Output


def metric_key(alias: str, key: str) -> str:
    return alias if key == "" else f"{alias}.{key}"


def score_chunk(
    scorers: Sequence[LoadedScorer], cases: Sequence[Case], outputs: Sequence[Output]
) -> list[tuple[dict[str, float | None], dict[str, Any]]]:
    """Per case: flat scores (``alias`` or ``alias.key``) and facts by scorer alias."""
    results: list[tuple[dict[str, float | None], dict[str, Any]]] = [({}, {}) for _ in cases]
    for loaded in scorers:
        for (scores, facts), scored in zip(
            results, score_all(loaded.fn, cases, outputs), strict=True
        ):
            for key, value in scored.scores.items():
                scores[metric_key(loaded.metric_name, key)] = value
            if scored.facts:
                facts[loaded.metric_name] = scored.facts
    return results


def _corpus_metric(
    name: str,
    facts: list[dict[str, Any]],
    aggregate: Any,
    level: float,
    resamples: int,
    seed: int,
) -> list[MetricValue]:
    point = aggregate(facts)
    if not point:
        return []
    rng = np.random.default_rng(seed)
    n = len(facts)
    draws: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(resamples):
        sample = aggregate([facts[i] for i in rng.integers(0, n, size=n)])
        for k in point:
            v = sample.get(k)
            if v is not None and not math.isnan(v):
                draws[k].append(v)
    alpha = (1.0 - level) / 2.0
    out = []
    for k, value in point.items():
        lo, hi = np.quantile(draws[k], [alpha, 1 - alpha]) if draws[k] else (math.nan, math.nan)
        out.append(
            MetricValue(
                f"{name}.{k}",
                float(value),
                n,
                float(lo),
                float(hi),
                level,
                f"bootstrap-percentile(resamples={resamples},seed={seed})",
            )
        )
    return out


def compute_metrics(
    records: list[dict[str, Any]],
    scorers: Sequence[LoadedScorer],
    *,
    level: float,
    resamples: int,
    seed: int,
) -> list[MetricValue]:
    ordered = sorted(records, key=lambda r: r["position"])
    names: list[str] = []
    for r in ordered:
        for name in r["scores"]:
            if name not in names:
                names.append(name)
    values = [
        summarize(
            name,
            [r["scores"].get(name) for r in ordered],
            level=level,
            resamples=resamples,
            seed=seed,
        )
        for name in names
    ]
    for loaded in scorers:
        aggregate = getattr(loaded.fn, "aggregate", None)
        if aggregate is None:
            continue
        facts = [r.get("facts", {}).get(loaded.metric_name) for r in ordered]
        present = [f for f in facts if f]
        if present:
            values += _corpus_metric(loaded.metric_name, present, aggregate, level, resamples, seed)
    return values
