"""One look of the production monitor in full: the arms with their window runs,
each arm's window metrics with intervals, every drift test and the texts that
drifted most, the anytime-valid A/B table, the gates and the action taken with
its signed statement."""

from __future__ import annotations

from typing import Any

from finegate.harness.store import Store
from finegate.harness.view import _queries as q
from finegate.harness.view._charts import interval_chart, rate_rows
from finegate.harness.view._html import (
    Markup,
    PageError,
    badge,
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
    short,
    signed,
    table,
    text_block,
    when,
)
from finegate.harness.view._monitor import (
    ARMS,
    DRIFTS,
    Look,
    Statements,
    ab_reason,
    action_text,
    as_dict,
    dash,
    decision,
    not_measured,
    read_look,
    statement_ids,
    statement_link,
)
from finegate.harness.view._page import UNITFUL_SCORERS, Page, heading, para

RAW_SHOWN = 4000  # characters of an unreadable report shown as it is


def _digest(value: Any) -> Markup:
    if not value:
        return Markup("—")
    return Markup(f'<code title="{esc(value)}">{esc(short(value))}</code>')


def _arms(look: Look) -> Markup:
    arms = look.part("arms")
    order = [a for a in ARMS if a in arms] + sorted(a for a in arms if a not in ARMS)
    rows = []
    for arm in order:
        a = as_dict(arms[arm])
        ids = a.get("request_ids") if isinstance(a.get("request_ids"), list) else []
        rows.append(
            [
                arm,
                dash(a.get("version")),
                _digest(a.get("fingerprint")),
                run_link(a.get("run")) or "—",
                dash(a.get("n")),
                code(short(a.get("requests_sha256"), 16)) if a.get("requests_sha256") else "—",
                f"{len(ids)} request id(s)",
            ]
        )
    if "canary" not in arms:
        rows.append(["canary", not_measured("no canary was served at this look"), *[""] * 5])
    return table(
        ["arm", "version", "fingerprint", "window run", "n", "requests (sha256)", "requests"],
        rows,
        numeric=(1, 4),
        empty="This look records no arm.",
    )


def _window(look: Look) -> Markup:
    w = look.part("window")
    if not w:
        return Markup("—")
    size = w.get("size")
    what = f"the last {fmt(size)} requests" if w.get("by") == "count" else f"{fmt(size)} seconds"
    return join([f"{what}, from ", when(w.get("since")), " to ", when(w.get("until"))])


def _metrics(look: Look) -> Markup:
    """Each window metric per arm, with its interval and n."""
    per_arm = look.part("metrics")
    arms = [a for a in ARMS if a in per_arm or a in look.part("arms")]
    names = sorted({n for a in arms for n in as_dict(per_arm.get(a))})
    if not names:
        return para("No window metrics recorded.", "muted")
    rows, chart = [], []
    for name in names:
        row: list[Any] = [name]
        for arm in arms:
            m = as_dict(as_dict(per_arm.get(arm)).get(name))
            if not is_number(m.get("value")):
                reason = m.get("error") or f"not in the {arm} window"
                row += [not_measured(reason), "", ""]
                continue
            row += [fmt(m["value"]), interval(m.get("ci_low"), m.get("ci_high")), dash(m.get("n"))]
            if name.split(".", 1)[0] not in UNITFUL_SCORERS:  # seconds and money stay out
                chart.append(
                    (f"{name} · {arm}", m["value"], m.get("ci_low"), m.get("ci_high"), m.get("n"))
                )
        rows.append(row)
    headers = ["metric"] + [h for arm in arms for h in (arm, "interval", "n")]
    return join(
        [
            interval_chart(
                rate_rows(chart),
                chart_id="look-metrics",
                title="Window metrics on a 0 to 1 scale per arm, with their intervals",
            ),
            table(headers, rows, numeric=tuple(range(1, len(headers)))),
        ]
    )


def _drift_one(entry: Any) -> Markup:
    if entry is None:
        return para(not_measured("this look ran no such check"))
    entry = as_dict(entry)
    if "error" in entry:
        return para(not_measured(entry["error"]))
    alpha = entry.get("alpha")
    n_window, n_reference = entry.get("n_window", "?"), entry.get("n_reference", "?")
    adjusted = as_dict(entry.get("adjusted_p_values"))
    alarm = (
        join(
            [
                Markup('<span class="badge fail">✗ ALARM</span> '),
                ", ".join(map(str, entry.get("alarming") or [])),
            ]
        )
        if entry.get("alarm") is True
        else "no alarm"
    )
    basis = {
        "both": "the larger of each test's own and its calibrated p-value",
        "test": "each test's own p-value (no calibration)",
    }.get(str(entry.get("basis")), str(entry.get("basis")))
    tests = []
    for t in entry.get("tests") or []:
        t = as_dict(t)
        p = adjusted.get(t.get("name"))
        flagged = is_number(p) and is_number(alpha) and p <= alpha
        tests.append(
            [
                t.get("name", "?"),
                fmt(t.get("statistic")),
                pfmt(t.get("p_value")),
                pfmt(t.get("calibrated_p_value"))
                if t.get("calibrated_p_value") is not None
                else "not calibrated",
                pfmt(p),
                Markup('<span class="badge fail">✗ alarm</span>') if flagged else "no",
                t.get("computed_on", ""),
                t.get("p_method", ""),
            ]
        )
    drifted = [
        [
            code(d.get("request_id") or f"#{d.get('index', '?')}"),
            text_block(d.get("text"), wide=True),
            text_block(d.get("nearest_reference"), wide=True),
            fmt(d.get("distance")),
            fmt(d.get("classifier_score")),
        ]
        for d in map(as_dict, entry.get("drifted") or [])
    ]
    return join(
        [
            facts(
                [
                    ("alarm", alarm),
                    ("texts", f"{n_window} in the window, {n_reference} in the reference"),
                    ("alpha", fmt(alpha)),
                    ("into Benjamini-Hochberg", basis),
                    ("encoder", entry.get("encoder") or "—"),
                    (
                        "calibration",
                        f"{entry.get('calibration_splits', 0)} split(s) of the reference",
                    ),
                ]
            ),
            table(
                [
                    "test",
                    "statistic",
                    "own p",
                    "calibrated p",
                    "adjusted p",
                    "alarm",
                    "computed on",
                    "p method",
                ],
                tests,
                numeric=(1, 2, 3, 4),
                empty="No drift test recorded.",
            ),
            heading(4, "The texts that drifted most"),
            table(
                ["request", "text", "nearest reference text", "distance", "classifier score"],
                drifted,
                caption="distance: 1 − cosine similarity to the nearest reference text; "
                "classifier score: the domain classifier's out-of-fold probability that the "
                "text is from the window",
                numeric=(3, 4),
                empty="No drifted example recorded.",
            ),
        ]
    )


def _drift(look: Look) -> Markup:
    drift = look.part("drift")
    parts: list[Any] = []
    for key, label in DRIFTS:
        parts += [heading(3, label, f"drift-{key}"), _drift_one(drift.get(key))]
    return join(parts)


def _ab(look: Look) -> Markup:
    ab = look.report.get("ab")
    if not isinstance(ab, dict):
        return para(not_measured(ab_reason(look)))
    callers, requests = as_dict(ab.get("callers")), as_dict(ab.get("requests"))
    rows = []
    for name, m in as_dict(ab.get("metrics")).items():
        m = as_dict(m)
        if "error" in m or not is_number(m.get("estimate")):
            rows.append([name, not_measured(m.get("error", "no estimate")), *["—"] * 9])
            continue
        rows.append(
            [
                name,
                signed(m["estimate"]),
                fmt(m.get("lower")),
                fmt(m.get("upper")),
                dash(m.get("n_canary")),
                dash(m.get("n_production")),
                fmt(m.get("margin")),
                "higher" if m.get("higher_is_better", True) is not False else "lower",
                decision(m.get("decision")),
                "yes"
                if m.get("non_inferior") is True
                else "no"
                if m.get("non_inferior") is False
                else "—",
                f"{fmt(m.get('alpha'))}, {m.get('method', '?')}",
            ]
        )
    return join(
        [
            facts(
                [
                    ("since", when(ab.get("since")) if ab.get("since") else "—"),
                    ("callers", ", ".join(f"{a} {callers[a]}" for a in callers) or "—"),
                    ("requests", ", ".join(f"{a} {requests[a]}" for a in requests) or "—"),
                ]
            ),
            table(
                [
                    "metric",
                    "canary − production",
                    "CS lower",
                    "CS upper",
                    "callers (canary)",
                    "callers (production)",
                    "margin",
                    "better when",
                    "decision",
                    "non-inferior",
                    "alpha, method",
                ],
                rows,
                caption="Per caller, since the canary was placed; the bounds are an anytime-valid "
                "confidence sequence, valid at every look.",
                numeric=(1, 2, 3, 4, 5, 6),
                empty="No A/B metric recorded.",
            ),
        ]
    )


def _gates(look: Look) -> Markup:
    rows = [
        [
            g.get("gate_id", "?"),
            g.get("kind", ""),
            g.get("severity", ""),
            badge(g.get("status")),
            fmt(g.get("observed")),
            fmt(g.get("threshold")),
            text_block(g.get("detail") or ""),
        ]
        for g in map(as_dict, look.report.get("gates") or [])
    ]
    return table(
        ["gate", "kind", "severity", "status", "observed", "threshold", "detail"],
        rows,
        numeric=(4, 5),
        empty="No gate was applied at this look.",
    )


def _action(look: Look, statements: Statements, audit_per_page: int) -> Markup:
    action = look.part("action")
    if not action:
        return para("No action recorded.", "muted")
    return facts(
        [
            ("action", Markup(f"<b>{esc(action_text(action))}</b>")),
            ("detail", text_block(action.get("detail") or "—")),
            (
                "signed statement",
                statement_link(action.get("statement"), statements, audit_per_page),
            ),
        ]
    )


def look_page(store: Store, report_id: str, audit_per_page: int) -> Page:
    """One look in full; a report that cannot be read is shown as it is, with why."""
    row = q.monitor_look(store, report_id)
    if row is None:
        raise PageError(404, "Look not found", f"The store holds no monitor look {report_id!r}.")
    look = read_look(row)
    statements = q.statement_records(store, statement_ids([look]))
    policy = look.part("policy")
    summary = facts(
        [
            ("model", row["name"]),
            ("time", when(row["at"])),
            ("status", badge(row["status"])),
            ("production version", dash(row["production_version"])),
            ("canary version", dash(row["canary_version"], "none")),
            (
                "policy",
                f"{policy.get('id')} v{policy.get('version')} (hash {short(policy.get('hash'))})"
                if policy
                else "—",
            ),
            ("window", _window(look)),
            ("monitor verdict", statement_link(row.get("statement"), statements, audit_per_page)),
        ]
    )
    parts: list[Any] = [
        para(link(href("/monitor", name=row["name"]), f"← the looks at {row['name']}")),
        heading(1, f"Look {look.id}"),
        summary,
    ]
    if look.error:
        raw = str(row["report_json"])
        clipped = raw if len(raw) <= RAW_SHOWN else raw[:RAW_SHOWN] + f"… ({len(raw)} characters)"
        parts += [
            Markup(
                '<div class="banner fail" role="alert"><p>This look cannot be shown: '
                f"{esc(look.error)}. Its row's columns are above; its report as stored:</p></div>"
            ),
            text_block(clipped, wide=True),
        ]
        return Page(f"Look {look.id}", join(parts), "/monitor")
    parts += [
        heading(2, "Arms", "arms"),
        _arms(look),
        heading(2, "Window metrics", "metrics"),
        _metrics(look),
        heading(2, "Drift", "drift"),
        _drift(look),
        heading(2, "A/B: canary − production", "ab"),
        _ab(look),
        heading(2, "Gates", "gates"),
        _gates(look),
        heading(2, "Action", "action"),
        _action(look, statements, audit_per_page),
    ]
    return Page(f"Look {look.id}", join(parts), "/monitor")
