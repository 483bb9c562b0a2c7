"""Paired comparison of two runs on the same suites.

The question an engineer asks is not "is B's accuracy higher?" but "is it
higher by more than noise, on the same cases?". So cases are paired by id and
every metric gets the paired difference (B - A) with a paired-bootstrap
interval and p-value; binary scores also get McNemar's exact test, which uses
only the cases that flipped. Runs on different suite hashes are refused: their
numbers do not measure the same thing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from finegate.harness.compare._pairing import rebuild_scorers, shared_suites
from finegate.harness.core import MetricValue
from finegate.harness.scorer import LoadedScorer, compute_metrics, resampled_aggregate
from finegate.harness.stats import (
    bootstrap_interval_and_p,
    mcnemar_exact,
    paired_bootstrap,
    paired_relative_change,
)
from finegate.harness.store import Store


@dataclass(frozen=True)
class MetricDelta:
    suite_id: str
    name: str
    a: MetricValue
    b: MetricValue
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str
    n_paired: int
    level: float
    discordant: tuple[int, int] | None = None  # McNemar's (A only, B only)
    relative: float | None = None  # delta / A's value: "a 5% relative drop" is -0.05
    relative_ci_low: float | None = None
    relative_ci_high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["a"], data["b"] = self.a.to_dict(), self.b.to_dict()
        return data


@dataclass(frozen=True)
class FlippedCase:
    suite_id: str
    case_id: str
    metric: str
    direction: str  # "better" | "worse" (for B relative to A)
    prompt: Any
    output_a: str
    output_b: str


@dataclass(frozen=True)
class Usage:
    """What a run's answers cost: the prompt-compression argument in numbers."""

    n: int
    prompt_tokens_mean: float
    completion_tokens_mean: float
    latency_p50_s: float
    latency_p95_s: float

    def cost_per_1000(self, prompt_price: float, completion_price: float) -> float:
        """Cost of 1,000 requests at prices per million tokens."""
        per_request = (
            self.prompt_tokens_mean * prompt_price + self.completion_tokens_mean * completion_price
        ) / 1e6
        return 1000 * per_request


@dataclass(frozen=True)
class Comparison:
    run_a: dict[str, Any]
    run_b: dict[str, Any]
    suites: list[str]
    deltas: list[MetricDelta]
    flipped: list[FlippedCase]
    usage: dict[str, Usage]
    unpaired: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_a": {
                k: self.run_a[k] for k in ("id", "label", "kind", "system_name", "fingerprint")
            },
            "run_b": {
                k: self.run_b[k] for k in ("id", "label", "kind", "system_name", "fingerprint")
            },
            "suites": self.suites,
            "deltas": [d.to_dict() for d in self.deltas],
            "flipped": [asdict(f) for f in self.flipped],
            "usage": {k: asdict(v) for k, v in self.usage.items()},
            "unpaired": self.unpaired,
        }


def _suite_infos(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in run["suites"]}


def _usage(records: list[dict[str, Any]]) -> Usage:
    outs = [r["output"] for r in records]
    latencies = np.array([o.get("latency_s", 0.0) for o in outs], dtype=float)
    return Usage(
        n=len(outs),
        prompt_tokens_mean=float(np.mean([o.get("prompt_tokens", 0) for o in outs]))
        if outs
        else 0.0,
        completion_tokens_mean=float(np.mean([o.get("completion_tokens", 0) for o in outs]))
        if outs
        else 0.0,
        latency_p50_s=float(np.quantile(latencies, 0.5)) if outs else math.nan,
        latency_p95_s=float(np.quantile(latencies, 0.95)) if outs else math.nan,
    )


def compare_runs(
    store: Store, ref_a: str, ref_b: str, *, seed: int = 0, flipped_limit: int | None = None
) -> Comparison:
    """Compare run B (candidate) against run A (baseline) on every suite they share;
    a production window (kind ``production``) is compared unpaired."""
    run_a, run_b = store.get_run(ref_a), store.get_run(ref_b)
    if "production" in (run_a["kind"], run_b["kind"]):
        return _unpaired_comparison(store, run_a, run_b, seed)
    infos_a = _suite_infos(run_a)
    shared = shared_suites(run_a, run_b, purpose="to compare")
    deltas: list[MetricDelta] = []
    flipped: list[FlippedCase] = []
    usage: dict[str, Usage] = {}
    unpaired: dict[str, int] = {}
    all_a: list[dict[str, Any]] = []
    all_b: list[dict[str, Any]] = []
    for suite_id in shared:
        info = infos_a[suite_id]
        level = float(info.get("confidence", 0.95))
        resamples = int(info.get("bootstrap_resamples", 2000))
        recs_a = {r["case_id"]: r for r in store.records(run_a["id"], suite_id)}
        recs_b = {r["case_id"]: r for r in store.records(run_b["id"], suite_id)}
        ids = [c for c in recs_a if c in recs_b]
        unpaired[suite_id] = len(recs_a) + len(recs_b) - 2 * len(ids)
        pa, pb = [recs_a[c] for c in ids], [recs_b[c] for c in ids]
        all_a += pa
        all_b += pb
        scorers = rebuild_scorers(info)
        metrics_a = {
            m.name: m
            for m in compute_metrics(pa, scorers, level=level, resamples=resamples, seed=seed)
        }
        metrics_b = {
            m.name: m
            for m in compute_metrics(pb, scorers, level=level, resamples=resamples, seed=seed)
        }
        for name, ma in metrics_a.items():
            mb = metrics_b.get(name)
            if mb is not None and any(name in r["scores"] for r in pa):
                deltas.append(_mean_delta(suite_id, name, ma, mb, pa, pb, level, resamples, seed))
                flipped += _flips(suite_id, name, pa, pb)
        for scorer in scorers:
            deltas += _corpus_deltas(
                suite_id, scorer, metrics_a, metrics_b, pa, pb, level, resamples, seed
            )
    usage[run_a["id"]] = _usage(all_a)
    usage[run_b["id"]] = _usage(all_b)
    if flipped_limit is not None:
        flipped = flipped[:flipped_limit]
    return Comparison(run_a, run_b, shared, deltas, flipped, usage, unpaired)


def _mean_delta(
    suite_id: str,
    name: str,
    ma: MetricValue,
    mb: MetricValue,
    pa: list[dict[str, Any]],
    pb: list[dict[str, Any]],
    level: float,
    resamples: int,
    seed: int,
) -> MetricDelta:
    pairs = [(x["scores"].get(name), y["scores"].get(name)) for x, y in zip(pa, pb, strict=True)]
    pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
    a = np.array([x for x, _ in pairs], dtype=float)
    b = np.array([y for _, y in pairs], dtype=float)
    delta, lo, hi, p = paired_bootstrap(a, b, level, resamples, seed)
    binary = bool(np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all())
    test, discordant = "paired-bootstrap", None
    if binary and a.size:
        discordant = (int(np.sum((a == 1) & (b == 0))), int(np.sum((a == 0) & (b == 1))))
        p, test = mcnemar_exact(*discordant), "mcnemar-exact"
    rel, rel_lo, rel_hi = paired_relative_change(a, b, level, resamples, seed)
    return MetricDelta(
        suite_id,
        name,
        ma,
        mb,
        delta,
        lo,
        hi,
        p,
        test,
        len(pairs),
        level,
        discordant,
        relative=rel,
        relative_ci_low=rel_lo,
        relative_ci_high=rel_hi,
    )


def _corpus_deltas(
    suite_id: str,
    scorer: LoadedScorer,
    metrics_a: dict[str, MetricValue],
    metrics_b: dict[str, MetricValue],
    pa: list[dict[str, Any]],
    pb: list[dict[str, Any]],
    level: float,
    resamples: int,
    seed: int,
) -> list[MetricDelta]:
    """Paired deltas of one scorer's corpus metrics: both runs are resampled on the
    same case indices, every statistic from the same resamples."""
    alias = scorer.metric_name
    fa = [r.get("facts", {}).get(alias) or {} for r in pa]
    fb = [r.get("facts", {}).get(alias) or {} for r in pb]
    n = len(fa)
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    draws_a = resampled_aggregate(scorer.fn, fa, idx)
    draws_b = resampled_aggregate(scorer.fn, fb, idx)
    out = []
    for name, ma in metrics_a.items():
        prefix, _, key = name.partition(".")
        if prefix != alias or name not in metrics_b or key not in draws_a or key not in draws_b:
            continue
        mb = metrics_b[name]
        observed = mb.value - ma.value
        diffs = draws_b[key] - draws_a[key]
        diffs = diffs[~np.isnan(diffs)]
        if diffs.size == 0:
            out.append(
                MetricDelta(
                    suite_id,
                    name,
                    ma,
                    mb,
                    observed,
                    math.nan,
                    math.nan,
                    math.nan,
                    "paired-bootstrap",
                    n,
                    level,
                )
            )
            continue
        lo, hi, p = bootstrap_interval_and_p(diffs, observed, level, resamples)
        out.append(
            MetricDelta(suite_id, name, ma, mb, observed, lo, hi, p, "paired-bootstrap", n, level)
        )
    return out


def _flips(
    suite_id: str, name: str, pa: list[dict[str, Any]], pb: list[dict[str, Any]]
) -> list[FlippedCase]:
    out = []
    for x, y in zip(pa, pb, strict=True):
        sa, sb = x["scores"].get(name), y["scores"].get(name)
        if sa not in (0.0, 1.0) or sb not in (0.0, 1.0) or sa == sb:
            continue
        prompt = x["request"].get("prompt", x["request"].get("context"))
        out.append(
            FlippedCase(
                suite_id,
                x["case_id"],
                name,
                "better" if sb > sa else "worse",
                prompt,
                x["output"].get("text", ""),
                y["output"].get("text", ""),
            )
        )
    return out


def _unpaired_comparison(
    store: Store, run_a: dict[str, Any], run_b: dict[str, Any], seed: int
) -> Comparison:
    """Live requests against a suite's cases: nothing to pair, nothing flips."""
    from finegate.harness.compare._unpaired import matched_suites, unpaired_deltas

    pairs = matched_suites(run_a, run_b)
    deltas = [MetricDelta(**d) for d in unpaired_deltas(store, run_a, run_b, seed=seed)]
    records = {
        side: [r for suite in suites for r in store.records(run["id"], suite)]
        for side, run, suites in (
            ("a", run_a, [a for a, _ in pairs]),
            ("b", run_b, [b for _, b in pairs]),
        )
    }
    unpaired = {
        b: len(store.records(run_a["id"], a)) + len(store.records(run_b["id"], b)) for a, b in pairs
    }
    usage = {run_a["id"]: _usage(records["a"]), run_b["id"]: _usage(records["b"])}
    return Comparison(run_a, run_b, [b for _, b in pairs], deltas, [], usage, unpaired)
