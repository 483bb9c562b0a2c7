"""Comparing a production window with an evaluation run (or another window).

Live requests are not the suite's cases, so nothing can be paired: each metric
the two runs share is compared as two independent samples (``unpaired_bootstrap``),
the mean of a per-case score and each corpus statistic of a scorer (latency
p95) alike. A window is matched to the suite its scorers came from (its
suite's ``of``: the id and hash of the evaluated suite), so a window scored
with another version's scorers is not compared.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from finegate.harness.compare._pairing import rebuild_scorers
from finegate.harness.core import InputError, MetricValue
from finegate.harness.scorer import LoadedScorer, compute_metrics
from finegate.harness.stats import unpaired_bootstrap
from finegate.harness.store import Store


def _key(info: dict[str, Any]) -> tuple[str, str]:
    of = info.get("of")
    return (of["id"], of["hash"]) if of else (info["id"], info["hash"])


def matched_suites(run_a: dict[str, Any], run_b: dict[str, Any]) -> list[tuple[str, str]]:
    """(suite id in A, suite id in B) for every evaluated suite both speak of."""
    b_by_key = {_key(s): s["id"] for s in run_b["suites"]}
    pairs = [(s["id"], b_by_key[_key(s)]) for s in run_a["suites"] if _key(s) in b_by_key]
    if not pairs:
        raise InputError(
            f"runs {run_a['id']} and {run_b['id']} share no suite of the same version: a "
            "production window compares with runs of the suite (and version) it was scored for"
        )
    return pairs


def _values(records: list[dict[str, Any]], name: str) -> np.ndarray:
    found = [r["scores"].get(name) for r in records]
    return np.array([v for v in found if v is not None], dtype=float)


def unpaired_deltas(
    store: Store, run_a: dict[str, Any], run_b: dict[str, Any], *, seed: int = 0
) -> list[dict[str, Any]]:
    """B - A per metric both runs have, on independent resamples of each."""
    out: list[dict[str, Any]] = []
    for suite_a, suite_b in matched_suites(run_a, run_b):
        info = next(s for s in run_b["suites"] if s["id"] == suite_b)
        level = float(info.get("confidence", 0.95))
        resamples = int(info.get("bootstrap_resamples", 2000))
        recs_a, recs_b = store.records(run_a["id"], suite_a), store.records(run_b["id"], suite_b)
        scorers = rebuild_scorers(info)
        ma = {
            m.name: m
            for m in compute_metrics(recs_a, scorers, level=level, resamples=resamples, seed=seed)
        }
        mb = {
            m.name: m
            for m in compute_metrics(recs_b, scorers, level=level, resamples=resamples, seed=seed)
        }
        for name in [n for n in mb if n in ma]:
            a, b = _values(recs_a, name), _values(recs_b, name)
            statistic = None
            if a.size == 0 or b.size == 0:  # a corpus statistic: resample its facts' values
                a, b, statistic = _corpus_inputs(name, scorers, recs_a, recs_b)
                if statistic is None:
                    continue
            delta, lo, hi, p = unpaired_bootstrap(a, b, level, resamples, seed, statistic)
            out.append(_delta(suite_b, name, ma[name], mb[name], delta, lo, hi, p, level))
    return out


def _corpus_inputs(
    name: str,
    scorers: list[LoadedScorer],
    recs_a: list[dict[str, Any]],
    recs_b: list[dict[str, Any]],
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Latency percentiles: the per-case latencies and the percentile as the statistic."""
    alias, _, key = name.partition(".")
    scorer = next((s for s in scorers if s.metric_name == alias), None)
    if scorer is None or scorer.name != "latency" or not key.startswith("p"):
        return np.array([]), np.array([]), None
    q = float(key[1:])

    def latencies(recs: list[dict[str, Any]]) -> np.ndarray:
        return np.array([r["output"].get("latency_s", 0.0) for r in recs], dtype=float)

    return latencies(recs_a), latencies(recs_b), lambda x: np.percentile(x, q, axis=-1)


def _delta(
    suite_id: str, name: str, a: MetricValue, b: MetricValue, delta: float, lo: float, hi: float,
    p: float, level: float,
) -> dict[str, Any]:  # fmt: skip
    return {
        "suite_id": suite_id,
        "name": name,
        "a": a,
        "b": b,
        "delta": delta,
        "ci_low": lo,
        "ci_high": hi,
        "p_value": p,
        "test": "unpaired-bootstrap",
        "n_paired": 0,
        "level": level,
    }
