"""The run pages: every run, newest first, and one run with its metrics and
intervals, its verdicts, the runs it can be compared with, its environment and
its cases, a page at a time."""

from __future__ import annotations

from typing import Any

from finegate.harness.core import MetricValue
from finegate.harness.store import (
    Store,
    audit_table,
    model_versions_table,
    monitor_reports_table,
    serve_requests_table,
    verdicts_table,
)
from finegate.harness.view import _queries as q
from finegate.harness.view._charts import interval_chart, rate_rows
from finegate.harness.view._html import (
    Markup,
    badge,
    code,
    compact_json,
    esc,
    facts,
    fmt,
    href,
    interval,
    join,
    link,
    pager,
    pages_of,
    percent,
    run_href,
    run_link,
    short,
    table,
    text_block,
    when,
)
from finegate.harness.view._page import (
    Page,
    check_page,
    get_run,
    heading,
    output_text,
    para,
    prompt_text,
    scores_text,
    unitful_prefixes,
    verdict_anchor,
)


def index_page(store: Store, page: int, per_page: int) -> Page:
    """The runs, newest first, and the way to everything else."""
    rows, total = q.runs_page(store, page, per_page)
    pages = pages_of(total, per_page)
    check_page(page, pages, "The run list")
    counts = q.case_counts(store, [r.id for r in rows])
    cards = join(
        link(target, Markup(f"<b>{esc(n)}</b>{esc(label)}"))
        for target, n, label in (
            ("/", total, "runs"),
            ("/verdicts", q.count(store, verdicts_table), "verdicts"),
            ("/audit", q.count(store, audit_table), "audit records"),
            ("/registry", q.count(store, model_versions_table), "model versions"),
            ("/serving", q.count(store, serve_requests_table), "requests served"),
            ("/monitor", q.count(store, monitor_reports_table), "monitor looks"),
        )
    )
    table_rows = []
    for r in rows:
        suites = ", ".join(
            f"{s.get('id')} v{s.get('version')}" if s.get("version") else str(s.get("id"))
            for s in r.suites
        )
        table_rows.append(
            [
                run_link(r.id),
                when(r.created_at),
                r.kind,
                r.status,
                r.label or "",
                r.system_name,
                code(short(r.fingerprint)),
                suites,
                counts.get(r.id, 0),
            ]
        )
    body = join(
        [
            heading(1, "Runs"),
            Markup(f'<div class="cards">{cards}</div>'),
            table(
                [
                    "run",
                    "created",
                    "kind",
                    "status",
                    "label",
                    "system",
                    "fingerprint",
                    "suites",
                    "cases",
                ],
                table_rows,
                caption=f"{total} run(s), newest first",
                numeric=(8,),
                empty="The store holds no runs yet: `finegate eval` makes one.",
            ),
            pager("/", page, pages),
        ]
    )
    return Page("Runs", body, "/")


def metric_rows(values: list[MetricValue]) -> list[list[Any]]:
    return [
        [m.name, fmt(m.value), interval(m.ci_low, m.ci_high), m.n, percent(m.level), m.method]
        for m in values
    ]


def metrics_section(store: Store, run: dict[str, Any]) -> Markup:
    """Per suite: a chart of the 0-1 metrics with their intervals, and every metric
    with its value, interval, n and how the interval was computed."""
    metrics = store.metrics(run["id"])
    if not metrics:
        return para("No metrics stored for this run (it may be unfinished).", "muted")
    infos = {s.get("id"): s for s in run.get("suites") or [] if isinstance(s, dict)}
    parts: list[Any] = []
    for i, (suite_id, values) in enumerate(metrics.items()):
        info = infos.get(suite_id, {})
        parts.append(heading(3, f"{suite_id}  (suite hash {short(info.get('hash'))})"))
        level = values[0].level if values else 0.95
        skip = unitful_prefixes([info])
        chart_rows = rate_rows(
            [
                (m.name, m.value, m.ci_low, m.ci_high, m.n)
                for m in values
                if m.name.split(".", 1)[0] not in skip
            ]
        )
        parts.append(
            interval_chart(
                chart_rows,
                chart_id=f"metrics-{i}",
                title=f"{suite_id}: metrics on a 0 to 1 scale, with "
                f"{round(level * 100)}% confidence intervals",
                level=level,
            )
        )
        parts.append(
            table(
                ["metric", "value", "confidence interval", "n", "level", "interval method"],
                metric_rows(values),
                numeric=(1, 2, 3, 4),
            )
        )
    return join(parts)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        out = []
        for k in sorted(value, key=str):
            out += _flatten(value[k], f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, list):
        return [(prefix, compact_json(value))]
    return [(prefix, "" if value is None else value if isinstance(value, str) else fmt(value))]


def _comparison_links(run: dict[str, Any]) -> Markup:
    """A stored comparison names the runs it paired."""
    system = run.get("system") or {}
    a, b = system.get("baseline_run"), system.get("candidate_run")
    if not (a and b):
        return Markup("")
    return join(
        [
            heading(2, "The runs compared", "compared"),
            facts(
                [
                    ("baseline (A)", run_link(a)),
                    ("candidate (B)", run_link(b)),
                    ("computed afresh", link(href("/compare", a=a, b=b), "paired comparison")),
                ]
            ),
        ]
    )


def _compare_with(store: Store, run: dict[str, Any]) -> Markup:
    others = q.comparable_runs(store, run)
    if run.get("kind") not in q.COMPARABLE_KINDS:
        return Markup("")
    items = []
    mine = {s.get("id") for s in run.get("suites") or [] if isinstance(s, dict)}
    for other in others:
        shared = ", ".join(sorted(str(s.get("id")) for s in other.suites if s.get("id") in mine))
        items.append(
            "<li>"
            + link(
                href("/compare", a=other.id, b=run["id"]),
                f"this run against {other.system_name} ({other.id})",
            )
            + f' <span class="muted">{esc(other.kind)}, {when(other.created_at)}; '
            f"shared: {esc(shared)}</span></li>"
        )
    listing = (
        Markup(f"<ul>{''.join(items)}</ul>")
        if items
        else para("No other run shares a suite version with this one.", "muted")
    )
    return join(
        [
            heading(2, "Compare with…", "compare"),
            para(
                "Paired comparison on the cases both runs answered: this run is the "
                "candidate (B), the other the baseline (A).",
                "muted",
            ),
            listing,
        ]
    )


def _run_verdicts(store: Store, run_id: str) -> Markup:
    verdicts = store.verdicts(run_id=run_id)
    if not verdicts:
        return Markup("")
    rows = [
        [
            link(href("/verdicts") + "#" + verdict_anchor(v), v.get("id", "")),
            badge(v.get("status")),
            f"{v.get('policy_id')} v{v.get('policy_version')}",
            when(v.get("created_at", "")),
            run_link(v.get("baseline_run_id")),
        ]
        for v in verdicts
    ]
    return join(
        [
            heading(2, "Verdicts on this run", "verdicts"),
            table(["verdict", "status", "policy", "created", "baseline"], rows),
        ]
    )


def run_page(store: Store, ref: str, page: int, per_page: int) -> Page:
    """One run: what it was, its metrics with intervals, its verdicts, the runs it
    can be compared with, its environment and its cases, a page at a time."""
    run = get_run(store, ref)
    run_id = run["id"]
    records, total = q.records_page(store, run_id, page, per_page)
    pages = pages_of(total, per_page)
    check_page(page, pages, f"Run {run_id}'s case list")
    system = run.get("system") or {}
    timings = run.get("timings") or {}
    suites = [
        f"{s.get('id')} v{s.get('version')} (hash {short(s.get('hash'))}, "
        f"{s.get('n_cases', '?')} cases)"
        for s in run.get("suites") or []
        if isinstance(s, dict)
    ]
    summary = facts(
        [
            ("label", run.get("label") or "—"),
            ("kind", run.get("kind")),
            ("status", run.get("status")),
            ("created", when(run.get("created_at"))),
            ("finished", when(run.get("finished_at")) if run.get("finished_at") else "—"),
            ("system", run.get("system_name")),
            ("system type", system.get("type", "—") if isinstance(system, dict) else "—"),
            ("fingerprint", code(run.get("fingerprint"))),
            ("suites", "; ".join(suites) or "—"),
            ("time", f"{fmt(timings.get('total_s'))} s" if isinstance(timings, dict) else "—"),
            (
                "cache hits",
                timings.get("cache_hits", "—") if isinstance(timings, dict) else "—",
            ),
        ]
    )
    env_rows = [[k, v] for k, v in _flatten(run.get("environment") or {})]
    option_rows = [[k, v] for k, v in _flatten(run.get("options") or {})]
    start = (page - 1) * per_page
    case_rows = [
        [
            code(r["case_id"]),
            r["suite_id"],
            text_block(prompt_text(r["request"]), wide=True),
            text_block(output_text(r["output"]), wide=True),
            text_block(scores_text(r["scores"])),
        ]
        for r in records
    ]
    shown = f"cases {start + 1}–{start + len(records)} of {total}" if records else "no cases stored"
    body = join(
        [
            para(link("/", "← all runs")),
            heading(1, f"Run {run_id}"),
            summary,
            _comparison_links(run),
            _run_verdicts(store, run_id),
            heading(2, "Metrics", "metrics"),
            metrics_section(store, run),
            _compare_with(store, run),
            heading(2, "Environment", "environment"),
            table(["", "value"], env_rows, empty="No environment recorded."),
            heading(3, "Options"),
            table(["", "value"], option_rows, empty="No options recorded."),
            heading(2, "Cases", "cases"),
            pager(run_href(run_id), page, pages),
            table(
                ["case", "suite", "prompt", "output", "scores"],
                case_rows,
                caption=shown,
                empty="No cases stored for this run.",
            ),
            pager(run_href(run_id), page, pages),
        ]
    )
    return Page(f"Run {run_id}", body, "/")
