"""The serving page: the request log ``finegate serve`` writes, per model version
and alias (``triage:2 @ canary``): requests answered and failed with the error
rate, latency, tokens and cost, the share of flagged answers, callers' feedback,
requests over time, and the newest requests a page at a time.

Every rate carries its n and a Wilson interval, as the run pages do. Prompts and
answers are shown as the log holds them (redacted unless the operator logged raw
text, which is marked) and clipped; a caller is shown by the first 8 characters
of its salted hash at most.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from finegate.harness.stats import wilson_interval
from finegate.harness.store import Store
from finegate.harness.view import _queries as q
from finegate.harness.view._charts import ChartRow, Series, count_chart, interval_chart, rate_rows
from finegate.harness.view._html import (
    Markup,
    code,
    facts,
    fmt,
    interval,
    join,
    pager,
    pages_of,
    table,
    text_block,
    when,
)
from finegate.harness.view._page import Page, check_page, heading, para, prompt_text

CLIP = 300  # characters of a prompt or answer shown in the request list
CALLER_CHARS = 8  # of the caller's salted hash, never more
FLAGS = (("refusal", "refusal"), ("pii", "PII in the answer"), ("invalid_json", "invalid JSON"))
MAX_HOURLY_BINS = 24 * 45  # a longer log is charted per day

Key = tuple[str, int | None, str | None]


def slice_label(name: Any, version: Any, alias: Any) -> str:
    """``triage:2 @ canary``; a system served without the registry has no version."""
    label = f"{name}:{version}" if version is not None else str(name)
    return f"{label} @ {alias}" if alias else label


@dataclass
class Slice:
    """What one version at one alias did, summed over the whole log."""

    answered: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)  # answered requests, ms
    prompt_tokens: list[int] = field(default_factory=list)
    completion_tokens: list[int] = field(default_factory=list)
    cost: float = 0.0
    json_requested: int = 0  # answers the request asked to be JSON
    flagged: Counter[str] = field(default_factory=Counter)
    feedback: Counter[str] = field(default_factory=Counter)


@dataclass
class Summary:
    slices: dict[Key, Slice] = field(default_factory=dict)
    times: Counter[tuple[str, datetime]] = field(default_factory=Counter)  # (version, hour)
    text_forms: Counter[str] = field(default_factory=Counter)
    first: str | None = None
    last: str | None = None
    total: int = 0


def _instant(stamp: Any) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(stamp))
    except ValueError:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _json_object(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def summarise(store: Store) -> Summary:
    """One pass over the log, then the feedback counted per version and alias."""
    out = Summary()
    for row in q.serve_log_rows(store):
        key = (row["name"], row["version"], row["alias"])
        s = out.slices.setdefault(key, Slice())
        out.total += 1
        out.text_forms[str(row["text_form"])] += 1
        stamp = str(row["at"])
        out.first = stamp if out.first is None else min(out.first, stamp)
        out.last = stamp if out.last is None else max(out.last, stamp)
        t = _instant(stamp)
        if t is not None:
            version = slice_label(row["name"], row["version"], None)
            out.times[version, t.replace(minute=0, second=0, microsecond=0)] += 1
        if row["status"] != 200:
            s.failed += 1
            continue
        s.answered += 1
        if row["latency_ms"] is not None:
            s.latencies.append(float(row["latency_ms"]))
        if row["prompt_tokens"] is not None:
            s.prompt_tokens.append(int(row["prompt_tokens"]))
        if row["completion_tokens"] is not None:
            s.completion_tokens.append(int(row["completion_tokens"]))
        s.cost += float(row["cost"] or 0.0)
        flags = _json_object(row["flags_json"])
        answer_pii = _json_object(row["pii_json"]).get("answer")
        s.flagged["refusal"] += int(flags.get("refusal") is True)
        s.flagged["invalid_json"] += int(flags.get("invalid_json") is True)
        s.json_requested += int(flags.get("json_requested") is True)
        s.flagged["pii"] += int(isinstance(answer_pii, list) and len(answer_pii) > 0)
    for f in q.serve_feedback_counts(store):
        s = out.slices.setdefault((f["name"], f["version"], f["alias"]), Slice())
        if f["thumbs"] in ("up", "down"):
            s.feedback[f["thumbs"]] += f["n"]
        if f["task_completed"] is not None:
            s.feedback["completed" if f["task_completed"] else "not_completed"] += f["n"]
    return out


def _ordered(summary: Summary) -> list[tuple[str, Slice]]:
    def order(key: Key) -> tuple[Any, ...]:
        name, version, alias = key
        return (str(name), version is None, version or 0, alias or "")

    return [(slice_label(*k), summary.slices[k]) for k in sorted(summary.slices, key=order)]


def _rate(k: int, n: int) -> tuple[float, float, float]:
    """A share with its Wilson interval; NaN (shown as n/a) when n is 0."""
    if n == 0:
        return math.nan, math.nan, math.nan
    lo, hi = wilson_interval(k, n)
    return k / n, lo, hi


def _share(k: int, n: int) -> list[Any]:
    value, lo, hi = _rate(k, n)
    return [f"{fmt(value)} ({k} of {n})", interval(lo, hi)]


def _sum_mean(values: list[int]) -> list[Any]:
    return [sum(values), fmt(sum(values) / len(values)) if values else "n/a"]


def _request_rows(slices: list[tuple[str, Slice]]) -> list[list[Any]]:
    rows = []
    for label, s in slices:
        p50, p95 = (
            (float(v) for v in np.percentile(s.latencies, [50, 95]))
            if s.latencies
            else (math.nan, math.nan)
        )
        rows.append(
            [
                label,
                s.answered,
                s.failed,
                *_share(s.failed, s.answered + s.failed),
                fmt(p50),
                fmt(p95),
                *_sum_mean(s.prompt_tokens),
                *_sum_mean(s.completion_tokens),
                fmt(s.cost),
            ]
        )
    return rows


def _feedback_rows(slices: list[tuple[str, Slice]]) -> list[list[Any]]:
    rows = []
    for label, s in slices:
        up, down = s.feedback["up"], s.feedback["down"]
        done, not_done = s.feedback["completed"], s.feedback["not_completed"]
        thumbs = [up, down, *_share(up, up + down)]
        tasks = [done, not_done, *_share(done, done + not_done)]
        rows.append([label, *thumbs, *tasks])
    return rows


def _rates_chart(slices: list[tuple[str, Slice]]) -> Markup:
    items: list[tuple[str, float, float | None, float | None, int | None]] = []
    for label, s in slices:
        counts = [("error rate", s.failed, s.answered + s.failed)]
        counts += [(what, s.flagged[flag], s.answered) for flag, what in FLAGS]
        counts.append(("thumbs-up rate", s.feedback["up"], s.feedback["up"] + s.feedback["down"]))
        for what, k, n in counts:
            items.append((f"{label} · {what}", *_rate(k, n), n))
    rows: list[ChartRow] = rate_rows(items, limit=60)
    return interval_chart(
        rows,
        chart_id="serving-rates",
        title="Error rate, flagged answers and thumbs-up rate per version and alias, "
        "with 95% Wilson intervals",
    )


def _time_chart(summary: Summary) -> Markup:
    if not summary.times:
        return para("No request time could be read.", "muted")
    hours = [t for _, t in summary.times]
    start, end = min(hours), max(hours)
    step, unit, shown = timedelta(hours=1), "requests per hour", "%Y-%m-%d %H:00"
    if (end - start) / step + 1 > MAX_HOURLY_BINS:
        step, unit, shown = timedelta(days=1), "requests per day", "%Y-%m-%d"
        start = start.replace(hour=0)
    edges = []
    t = start
    while t <= end:
        edges.append(t)
        t += step
    per: dict[str, list[int]] = {}
    for (version, hour), n in summary.times.items():
        counts = per.setdefault(version, [0] * len(edges))
        counts[int((hour - start) / step)] += n
    series = [Series(v, per[v]) for v in sorted(per)]
    return count_chart(
        series,
        [e.strftime(shown) + (" UTC" if step.days == 0 else "") for e in edges],
        chart_id="serving-times",
        title=f"{unit.capitalize()} per version, UTC",
        unit=unit,
    )


def _clip(text: str) -> str:
    return text if len(text) <= CLIP else text[:CLIP] + f"… ({len(text)} characters)"


def _prompt(stored: Any) -> str:
    """A logged prompt: a string as it came, or chat messages stored as JSON."""
    text = "" if stored is None else str(stored)
    if text.startswith("["):
        try:
            messages = json.loads(text)
        except ValueError:
            return text
        if isinstance(messages, list) and all(isinstance(m, dict) for m in messages):
            return prompt_text({"prompt": messages})
    return text


def _answer(r: dict[str, Any]) -> str:
    if r["answer"] is not None:
        return str(r["answer"])
    return f"error: {r['error']}" if r["error"] else ""


def _feedback(r: dict[str, Any]) -> str:
    parts = []
    if r["thumbs"]:
        parts.append(f"thumbs {r['thumbs']}")
    if r["task_completed"] is not None:
        parts.append("task completed" if r["task_completed"] else "task failed")
    return ", ".join(parts) or "—"


def _text_form(form: Any) -> Any:
    if form == "raw":
        return Markup(
            '<span class="badge fail" title="stored as it came, not redacted">⚠ RAW</span>'
        )
    return form


def _recent(store: Store, page: int, per_page: int) -> Markup:
    rows, total = q.serve_requests_page(store, page, per_page)
    pages = pages_of(total, per_page)
    check_page(page, pages, "The request list")
    start = (page - 1) * per_page
    table_rows = [
        [
            code(r["id"]),
            when(r["at"]),
            slice_label(r["name"], r["version"], None),
            r["alias"] or "—",
            r["endpoint"],
            code(str(r["caller_hash"] or "")[:CALLER_CHARS] or "—"),
            r["status"],
            fmt(r["latency_ms"]),
            text_block(_clip(_prompt(r["prompt"]))),
            text_block(_clip(_answer(r))),
            _text_form(r["text_form"]),
            _feedback(r),
        ]
        for r in rows
    ]
    return join(
        [
            pager("/serving", page, pages),
            table(
                [
                    "request",
                    "time",
                    "version",
                    "alias",
                    "endpoint",
                    "caller",
                    "status",
                    "latency (ms)",
                    "prompt",
                    "answer",
                    "text",
                    "feedback",
                ],
                table_rows,
                caption=f"requests {start + 1}–{start + len(rows)} of {total}, newest first",
                numeric=(6, 7),
                row_class=["raw" if r["text_form"] == "raw" else "" for r in rows],
            ),
            pager("/serving", page, pages),
        ]
    )


def serving_page(store: Store, page: int, per_page: int) -> Page:
    """The request log per version and alias, and its newest requests."""
    summary = summarise(store)
    if summary.total == 0:
        check_page(page, 1, "The request list")
        body = join(
            [
                heading(1, "Serving"),
                para("No requests logged: `finegate serve` writes here."),
                para(
                    "A server started with `finegate serve --registered NAME --store PATH` logs "
                    "every request it answers, and the feedback on its answers, into this store.",
                    "muted",
                ),
            ]
        )
        return Page("Serving", body, "/serving")
    slices = _ordered(summary)
    answered = sum(s.answered for _, s in slices)
    raw = summary.text_forms["raw"]
    forms = ", ".join(f"{n} {form}" for form, n in sorted(summary.text_forms.items()))
    warning = (
        Markup(
            '<div class="banner warn" role="note"><p>'
            f"{raw} request(s) are stored as raw text (`--log-raw-text`): their prompts and "
            "answers were not redacted.</p></div>"
        )
        if raw
        else Markup("")
    )
    flag_rows = [
        [
            label,
            s.answered,
            *(
                c
                for flag, _ in FLAGS
                for c in _share(
                    s.flagged[flag], s.json_requested if flag == "invalid_json" else s.answered
                )
            ),
        ]
        for label, s in slices
    ]
    body = join(
        [
            heading(1, "Serving"),
            facts(
                [
                    ("requests logged", f"{summary.total} ({answered} answered)"),
                    ("first", when(summary.first)),
                    ("last", when(summary.last)),
                    ("text form", forms),
                ]
            ),
            warning,
            heading(2, "Requests", "requests"),
            table(
                [
                    "version @ alias",
                    "answered",
                    "failed",
                    "error rate",
                    "95% interval",
                    "latency p50 (ms)",
                    "latency p95 (ms)",
                    "prompt tokens",
                    "per answer",
                    "completion tokens",
                    "per answer",
                    "cost",
                ],
                _request_rows(slices),
                caption="Answered: status 200; failed: any other status. Latency, tokens and "
                "cost are over answered requests; the interval is Wilson's.",
                numeric=tuple(range(1, 12)),
            ),
            _time_chart(summary),
            heading(2, "Flagged answers", "flags"),
            table(
                [
                    "version @ alias",
                    "answers",
                    "refusal",
                    "95% interval",
                    "PII in the answer",
                    "95% interval",
                    "invalid JSON",
                    "95% interval",
                ],
                flag_rows,
                caption="Shares of answered requests: refusals (the pattern detector), answers "
                "the PII scanner found something in; invalid JSON is a share of the answers "
                "the request asked to be JSON.",
                numeric=tuple(range(1, 8)),
            ),
            heading(2, "Feedback", "feedback"),
            table(
                [
                    "version @ alias",
                    "thumbs up",
                    "thumbs down",
                    "thumbs-up rate",
                    "95% interval",
                    "tasks completed",
                    "tasks failed",
                    "completion rate",
                    "95% interval",
                ],
                _feedback_rows(slices),
                caption="Feedback callers gave on answers, counted with the version and alias "
                "that answered.",
                numeric=tuple(range(1, 9)),
            ),
            _rates_chart(slices),
            heading(2, "Newest requests", "recent"),
            _recent(store, page, per_page),
        ]
    )
    return Page("Serving", body, "/serving")
