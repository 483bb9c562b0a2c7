"""Canary against production on live traffic, decided with anytime-valid bounds.

Every look recomputes, for each metric, canary minus production over all the
traffic since the canary was placed, with a confidence sequence: bounds that
hold at every look at once, so looking every hour (or every minute) does not
raise the false-alarm rate the way re-running a t-test would. Assignment is
sticky per caller, so the units are callers, not requests
(``per_caller_units``): each caller's mean over its requests. Requests that
name no caller cannot be clustered and are left out (counted).

Latency is compared as the 0.95-quantile of per-request latencies: a caller's
requests share its prompts, so these are not independent draws, and the
quantile bounds are approximate where a few callers send most of the traffic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from finegate.harness.core import InputError
from finegate.harness.monitor._log import LoggedRequest
from finegate.harness.stats import (
    compare_means,
    compare_proportions,
    compare_quantiles,
    per_caller_units,
)

Kind = Literal["proportion", "mean", "quantile"]


@dataclass(frozen=True)
class ABMetric:
    """One A/B metric: how a request gives its value (None: not measured on it)."""

    name: str
    kind: Kind
    higher_is_better: bool
    value: Callable[[LoggedRequest], float | None]
    description: str


def _thumbs(q: LoggedRequest) -> float | None:
    return None if q.thumbs is None else float(q.thumbs == "up")


def _completed(q: LoggedRequest) -> float | None:
    return None if q.task_completed is None else float(q.task_completed)


AB_METRICS: dict[str, ABMetric] = {
    m.name: m
    for m in (
        ABMetric("thumbs_up", "proportion", True, _thumbs, "share of rated answers rated up"),
        ABMetric("task_completed", "proportion", True, _completed, "share of reports saying done"),
        ABMetric(
            "refusal",
            "proportion",
            False,
            lambda q: float(bool(q.flags.get("refusal"))),
            "share of answers the pattern detector calls refusals",
        ),
        ABMetric(
            "answer_pii",
            "proportion",
            False,
            lambda q: float(q.answer_pii > 0),
            "share of answers with personal data found",
        ),
        ABMetric("cost", "mean", False, lambda q: q.cost, "cost per request"),
        ABMetric(
            "completion_tokens",
            "mean",
            False,
            lambda q: None if q.completion_tokens is None else float(q.completion_tokens),
            "completion tokens per request",
        ),
        ABMetric("latency_p95", "quantile", False, lambda q: q.latency_s, "p95 latency (s)"),
    )
}


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _compare(
    metric: ABMetric,
    canary: Sequence[LoggedRequest],
    production: Sequence[LoggedRequest],
    *,
    alpha: float,
    margin: float,
) -> dict[str, Any]:
    rows = [
        (q.caller, arm, v)
        for arm, arm_rows in (("canary", canary), ("production", production))
        for q in arm_rows
        if q.caller is not None and (v := metric.value(q)) is not None
    ]
    arms = {"canary": [v for _, a, v in rows if a == "canary"]}
    arms["production"] = [v for _, a, v in rows if a == "production"]
    if not arms["canary"] or not arms["production"]:
        empty = [a for a, vs in arms.items() if not vs]
        return {"error": f"no {metric.name} measured yet in {' or '.join(empty)}"}
    if metric.kind == "quantile":
        result = compare_quantiles(
            arms["canary"], arms["production"], 0.95, alpha=alpha, margin=margin
        )
    else:
        units = per_caller_units(
            [c for c, _, _ in rows], [a for _, a, _ in rows], [v for *_, v in rows]
        )
        compare = compare_proportions if metric.kind == "proportion" else compare_means
        result = compare(
            units.of("canary"),
            units.of("production"),
            alpha=alpha,
            margin=margin,
            higher_is_better=metric.higher_is_better,
        )
    out = asdict(result)
    for key in ("lower", "upper"):
        out[key] = _finite(out[key])
    out["units"] = "requests" if metric.kind == "quantile" else "callers"
    return out


def ab_compare(
    canary: Sequence[LoggedRequest],
    production: Sequence[LoggedRequest],
    *,
    alpha: float = 0.05,
    margins: Mapping[str, float] | None = None,
    metrics: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Canary minus production per metric, since the canary was placed; a metric
    not measured in both arms yet says why instead of a number."""
    margins = dict(margins or {})
    names = list(metrics or AB_METRICS)
    unknown = [n for n in [*names, *margins] if n not in AB_METRICS]
    if unknown:
        raise InputError(f"unknown A/B metric {unknown[0]!r}; known: {', '.join(AB_METRICS)}")
    out: dict[str, Any] = {}
    for name in names:
        try:
            out[name] = _compare(
                AB_METRICS[name], canary, production, alpha=alpha, margin=margins.get(name, 0.0)
            )
        except InputError as e:
            out[name] = {"error": str(e)}
    callers = {
        arm: len({q.caller for q in rows if q.caller is not None})
        for arm, rows in (("canary", canary), ("production", production))
    }
    return {
        "alpha": alpha,
        "callers": callers,
        "requests": {"canary": len(canary), "production": len(production)},
        "anonymous": sum(q.caller is None for q in [*canary, *production]),
        "metrics": out,
    }
