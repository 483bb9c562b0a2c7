"""A paired comparison of two runs, computed when the page is opened.

Comparisons the store keeps are runs of kind ``comparison`` and are shown like
any run; this page pairs any two runs of the same suite version through
``finegate.harness.compare``, the code ``finegate compare`` runs.
"""

from __future__ import annotations

from finegate.harness.core import InputError
from finegate.harness.store import Store
from finegate.harness.view import _queries as q
from finegate.harness.view._charts import ChartRow, interval_chart, symmetric_domain
from finegate.harness.view._html import (
    Markup,
    PageError,
    code,
    esc,
    facts,
    fmt,
    href,
    interval,
    is_number,
    join,
    link,
    pfmt,
    run_link,
    signed,
    table,
    text_block,
)
from finegate.harness.view._page import (
    Page,
    get_run,
    heading,
    para,
    prompt_text,
    unitful_prefixes,
)

FLIPPED_SHOWN = 200


def _run_options(runs: list[q.RunRow], chosen: str | None) -> str:
    out = ['<option value="">choose a run</option>']
    for r in runs:
        sel = " selected" if r.id == chosen else ""
        out.append(
            f'<option value="{esc(r.id)}"{sel}>{esc(r.id)} · {esc(r.system_name)} · '
            f"{esc(', '.join(str(s.get('id')) for s in r.suites))}</option>"
        )
    return "".join(out)


def compare_form(store: Store, a: str | None = None, b: str | None = None) -> Markup:
    runs = q.recent_runs(store, q.COMPARABLE_KINDS)
    return Markup(
        '<form class="pick" method="get" action="/compare">'
        f'<label>baseline (A)<select name="a">{_run_options(runs, a)}</select></label>'
        f'<label>candidate (B)<select name="b">{_run_options(runs, b)}</select></label>'
        '<button type="submit">compare</button></form>'
    )


def _direction(direction: str) -> Markup:
    """Better or worse for B, in words and an arrow, not in colour alone."""
    cls, arrow = ("pass", "▲") if direction == "better" else ("fail", "▼")
    return Markup(f'<span class="badge {cls}">{arrow} {esc(direction)}</span>')


def compare_page(store: Store, a: str | None, b: str | None) -> Page:
    """Two runs paired case by case, computed now (comparisons the store keeps are
    runs of kind ``comparison``, shown like any run): per metric the delta with
    its interval and p-value, and the cases whose score flipped."""
    if not a or not b:
        body = join(
            [
                heading(1, "Compare two runs"),
                para(
                    "Pick a baseline and a candidate run of the same suite version: each "
                    "metric's paired difference (B − A) with its confidence interval and "
                    "p-value, and the cases that flipped.",
                    "muted",
                ),
                compare_form(store, a, b),
            ]
        )
        return Page("Compare", body, "/compare")
    from finegate.harness.compare import compare_runs  # numpy and scipy: on first use

    run_a, run_b = get_run(store, a), get_run(store, b)
    try:
        comparison = compare_runs(store, run_a["id"], run_b["id"])
    except InputError as e:
        raise PageError(400, "These runs cannot be compared", str(e)) from None
    deltas = comparison.deltas
    several = len(comparison.suites) > 1
    delta_rows = []
    for d in deltas:
        rel = (
            f"{signed(d.relative)} {interval(d.relative_ci_low, d.relative_ci_high)}"
            if d.relative is not None and is_number(d.relative)
            else "n/a"
        )
        delta_rows.append(
            [
                f"{d.suite_id}: {d.name}" if several else d.name,
                fmt(d.a.value),
                fmt(d.b.value),
                signed(d.delta),
                interval(d.ci_low, d.ci_high),
                Markup(f'{esc(pfmt(d.p_value))}<br><span class="muted">{esc(d.test)}</span>'),
                d.n_paired,
                f"{d.discordant[0]} / {d.discordant[1]}" if d.discordant else "—",
                rel,
            ]
        )
    skip = unitful_prefixes(run_a.get("suites"))
    chart_rows = [
        ChartRow(d.name, d.delta, d.ci_low, d.ci_high, d.n_paired)
        for d in deltas
        if d.name.split(".", 1)[0] not in skip
        and is_number(d.delta)
        and 0.0 <= d.a.value <= 1.0
        and 0.0 <= d.b.value <= 1.0
    ][:40]
    level = deltas[0].level if deltas else 0.95
    chart = interval_chart(
        chart_rows,
        chart_id="deltas",
        title=f"Paired difference B − A per metric, with {round(level * 100)}% intervals",
        domain=symmetric_domain(chart_rows) if chart_rows else (-1.0, 1.0),
        zero_line=True,
        level=level,
        signed_values=True,
    )
    flips = comparison.flipped
    flip_rows = [
        [
            code(f.case_id),
            f.suite_id,
            f.metric,
            _direction(f.direction),
            text_block(prompt_text({"prompt": f.prompt}), wide=True),
            text_block(f.output_a, wide=True),
            text_block(f.output_b, wide=True),
        ]
        for f in flips[:FLIPPED_SHOWN]
    ]
    usage_rows = [
        [
            run_link(run_id),
            u.n,
            fmt(u.prompt_tokens_mean),
            fmt(u.completion_tokens_mean),
            fmt(u.latency_p50_s),
            fmt(u.latency_p95_s),
        ]
        for run_id, u in comparison.usage.items()
    ]
    unpaired = {k: v for k, v in comparison.unpaired.items() if v}
    body = join(
        [
            heading(1, "Paired comparison"),
            facts(
                [
                    ("baseline (A)", join([run_link(run_a["id"]), " · ", run_a["system_name"]])),
                    ("candidate (B)", join([run_link(run_b["id"]), " · ", run_b["system_name"]])),
                    ("suites", ", ".join(comparison.suites)),
                    ("swap", link(href("/compare", a=run_b["id"], b=run_a["id"]), "B against A")),
                ]
            ),
            para(
                "Cases are paired by id. Each delta is B − A with a paired-bootstrap "
                "interval; binary scores get McNemar's exact test on the cases that flipped "
                "(discordant: A only / B only).",
                "muted",
            ),
            para(
                "Cases answered by one run only were left out: "
                + ", ".join(f"{k}: {v}" for k, v in unpaired.items())
            )
            if unpaired
            else Markup(""),
            chart,
            table(
                [
                    "metric",
                    "A",
                    "B",
                    "delta B − A",
                    "interval",
                    "p-value (test)",
                    "n paired",
                    "discordant",
                    "relative change",
                ],
                delta_rows,
                numeric=(1, 2, 3, 4, 5, 6),
                empty="No metric both runs scored.",
            ),
            heading(2, f"Flipped cases ({len(flips)})", "flipped"),
            para(f"The first {FLIPPED_SHOWN} are shown.", "muted")
            if len(flips) > FLIPPED_SHOWN
            else Markup(""),
            table(
                ["case", "suite", "metric", "B vs A", "prompt", "A answered", "B answered"],
                flip_rows,
                empty="No case flipped between the runs.",
            ),
            heading(2, "Usage", "usage"),
            table(
                [
                    "run",
                    "cases",
                    "prompt tokens (mean)",
                    "completion tokens (mean)",
                    "latency p50 (s)",
                    "latency p95 (s)",
                ],
                usage_rows,
                numeric=(1, 2, 3, 4, 5),
            ),
            heading(2, "Another pair"),
            compare_form(store, run_a["id"], run_b["id"]),
        ]
    )
    return Page(f"Compare {run_b['id']} with {run_a['id']}", body, "/compare")
