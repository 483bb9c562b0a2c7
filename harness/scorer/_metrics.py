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

from finegate.harness.core import Case, MetricValue, Output
from finegate.harness.scorer._registry import LoadedScorer, score_all
from finegate.harness.stats import percentile_interval, summarize


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


def resampled_aggregate(
    scorer: Any, facts: list[dict[str, Any]], idx: np.ndarray
) -> dict[str, np.ndarray]:
    """The scorer's corpus statistics on each row of resampled indices: vectorised
    where the scorer offers ``aggregate_resampled``, else one call per row."""
    fast = getattr(scorer, "aggregate_resampled", None)
    if fast is not None:
        return fast(facts, idx)
    rows = [scorer.aggregate([facts[i] for i in row]) for row in idx]
    keys = {k for r in rows for k in r}
    return {k: np.array([r.get(k, math.nan) for r in rows], dtype=float) for k in keys}


def _corpus_metric(
    name: str,
    facts: list[dict[str, Any]],
    scorer: Any,
    level: float,
    resamples: int,
    seed: int,
) -> list[MetricValue]:
    point = scorer.aggregate(facts)
    if not point:
        return []
    n = len(facts)
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    draws = resampled_aggregate(scorer, facts, idx)
    method = f"bootstrap-percentile(resamples={resamples},seed={seed})"
    out = []
    for k, value in point.items():
        lo, hi = percentile_interval(draws.get(k, np.array([])), level)
        out.append(MetricValue(f"{name}.{k}", float(value), n, lo, hi, level, method))
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
        if not hasattr(loaded.fn, "aggregate"):
            continue
        facts = [r.get("facts", {}).get(loaded.metric_name) for r in ordered]
        present = [f for f in facts if f]
        if present:
            values += _corpus_metric(loaded.metric_name, present, loaded.fn, level, resamples, seed)
    return values
