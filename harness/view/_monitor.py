"""The monitor pages: every look the production monitor took at live traffic, per
model name and newest first, with charts of the A/B differences and the drift
p-values over the looks; and one look in full (its arms and windows, drift
tests and drifted texts, the A/B table, the gates and the action taken).

A look's report is JSON written by another process, and its texts come from
live traffic: every value is escaped, a report that cannot be read is said to be
so on its own row, and whatever a look did not measure (no canary, no drift
check, an A/B metric with too few callers) reads "not measured" with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from finegate.harness.store import Store
from finegate.harness.view import _queries as q
from finegate.harness.view._charts import BandPoint, PSeries, band_chart, p_value_chart
from finegate.harness.view._html import (
    Markup,
    badge,
    code,
    esc,
    href,
    is_number,
    join,
    link,
    pager,
    pages_of,
    percent,
    pfmt,
    short,
    table,
    when,
)
from finegate.harness.view._page import Page, check_page, heading, para

ARMS = ("production", "canary")
DRIFTS = (
    ("inputs_vs_suite", "Inputs vs the suite"),
    ("outputs_vs_reference", "Outputs vs the reference"),
)
DECISIONS = {"better": ("pass", "▲"), "worse": ("fail", "▼"), "undecided": ("", "•")}
Statements = dict[str, tuple[int, int]]  # statement id -> (audit seq, newer records)


@dataclass(frozen=True)
class Look:
    """One stored look: its row's columns, its report, or why the report cannot be read."""

    row: dict[str, Any]
    report: dict[str, Any]
    error: str | None = None

    @property
    def id(self) -> str:
        return str(self.row["id"])

    def part(self, key: str) -> dict[str, Any]:
        return as_dict(self.report.get(key))

    @property
    def canary(self) -> bool:
        return "canary" in self.part("arms") or self.row.get("canary_version") is not None


def read_look(row: dict[str, Any]) -> Look:
    try:
        report = json.loads(row["report_json"])
    except (TypeError, ValueError) as e:
        return Look(row, {}, f"its report is not valid JSON ({e})")
    if not isinstance(report, dict):
        return Look(row, {}, f"its report is a JSON {type(report).__name__}, not an object")
    return Look(row, report)


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def not_measured(reason: Any) -> Markup:
    return Markup(f'<span class="muted">not measured: {esc(reason)}</span>')


def lines(parts: Iterable[Any]) -> Markup:
    return join(parts, Markup("<br>"))


def look_href(report_id: Any) -> str:
    return "/monitor/" + quote(str(report_id), safe="")


def decision(value: Any) -> Markup:
    cls, arrow = DECISIONS.get(str(value), ("", "?"))
    return Markup(f'<span class="badge {cls}">{arrow} {esc(value)}</span>')


def statement_ids(looks: Iterable[Look]) -> list[str]:
    ids = []
    for look in looks:
        ids += [
            str(look.row.get("statement") or ""),
            str(look.part("action").get("statement") or ""),
        ]
    return [i for i in ids if i]


def statement_link(sid: Any, statements: Statements, audit_per_page: int) -> Markup:
    """A signed statement's id, linked to its audit record when the log holds one."""
    if not sid:
        return Markup("—")
    found = statements.get(str(sid))
    if found is None:
        return Markup(
            f'<code title="{esc(sid)}">{esc(short(sid, 16))}</code> '
            '<span class="muted">(no audit record of it in this store)</span>'
        )
    seq, newer = found
    target = href("/audit", page=newer // audit_per_page + 1) + f"#record-{seq}"
    return join(
        [link(target, code(short(sid, 16)), title=sid), Markup(f" (audit record {esc(seq)})")]
    )


# -- the cells of a look's row -----------------------------------------------------------


def ab_reason(look: Look) -> str:
    return "no canary was served at this look" if not look.canary else "no A/B at this look"


def drift_cell(entry: Any) -> Markup:
    if entry is None:
        return not_measured("no check at this look")
    entry = as_dict(entry)
    if "error" in entry:
        return not_measured(entry["error"])
    adjusted = [p for p in as_dict(entry.get("adjusted_p_values")).values() if is_number(p)]
    smallest = f"smallest adjusted p {pfmt(min(adjusted))}" if adjusted else ""
    if entry.get("alarm") is True:
        alarming = ", ".join(str(t) for t in entry.get("alarming") or []) or "?"
        return lines([Markup('<span class="badge fail">✗ ALARM</span>'), alarming, smallest])
    return lines(["no alarm", Markup(f'<span class="muted">{esc(smallest)}</span>')])


def ab_cell(look: Look) -> Markup:
    ab = look.report.get("ab")
    metrics = as_dict(as_dict(ab).get("metrics"))
    if not metrics:
        return not_measured(ab_reason(look) if ab is None else "no A/B metric at this look")
    out = []
    for name, m in metrics.items():
        m = as_dict(m)
        if "error" in m or not is_number(m.get("estimate")):
            out.append(join([f"{name}: ", not_measured(m.get("error", "no estimate"))]))
        else:
            out.append(join([f"{name}: ", decision(m.get("decision"))]))
    return lines(out)


def gates_cell(look: Look) -> Markup:
    gates = [as_dict(g) for g in look.report.get("gates") or []]
    if not gates:
        return Markup('<span class="muted">no gates</span>')
    return lines(join([badge(g.get("status")), " ", g.get("gate_id", "?")]) for g in gates)


def action_text(action: dict[str, Any]) -> str:
    kind = str(action.get("kind") or "none")
    if kind in ("rollback", "promote"):
        return f"{kind} {'done' if action.get('done') else 'refused'}"
    return kind


def action_cell(look: Look, statements: Statements, audit_per_page: int) -> Markup:
    action = look.part("action")
    if not action:
        return Markup('<span class="muted">none recorded</span>')
    parts: list[Any] = [Markup(f"<b>{esc(action_text(action))}</b>")]
    if action.get("detail"):
        parts.append(Markup(f'<span class="muted">{esc(action["detail"])}</span>'))
    if action.get("statement"):
        parts.append(statement_link(action["statement"], statements, audit_per_page))
    return lines(parts)


def arms_cell(look: Look) -> Markup:
    arms = look.part("arms")
    out = [f"{arm} n={as_dict(arms[arm]).get('n', '?')}" for arm in ARMS if arm in arms]
    out += [f"{arm} n={as_dict(a).get('n', '?')}" for arm, a in arms.items() if arm not in ARMS]
    if "canary" not in arms:
        out.append(Markup('<span class="muted">no canary</span>'))
    return lines(out)


def dash(value: Any, missing: str = "—") -> Any:
    """A value, or ``missing`` where there is none."""
    return missing if value is None else value


def look_row(look: Look, statements: Statements, audit_per_page: int) -> list[Any]:
    head = [
        link(look_href(look.id), code(look.id)),
        when(look.row.get("at")),
        badge(look.row.get("status")),
        dash(look.row.get("production_version")),
        dash(look.row.get("canary_version"), "none"),
    ]
    if look.error:
        broken = Markup(f'<span class="badge fail">✗ report unreadable:</span> {esc(look.error)}')
        return [*head, broken, "—", "—", "—", "—", "—"]
    drift = look.part("drift")
    return [
        *head,
        arms_cell(look),
        drift_cell(drift.get("inputs_vs_suite")),
        drift_cell(drift.get("outputs_vs_reference")),
        ab_cell(look),
        gates_cell(look),
        action_cell(look, statements, audit_per_page),
    ]


LOOK_HEADERS = [
    "look",
    "time",
    "status",
    "production",
    "canary",
    "window (n per arm)",
    "inputs vs suite",
    "outputs vs reference",
    "A/B (canary − production)",
    "gates",
    "action",
]


# -- charts over the looks -----------------------------------------------------------------


def look_label(look: Look) -> str:
    stamp = str(look.row.get("at") or "")
    return stamp[:16].replace("T", " ") if len(stamp) >= 16 else stamp


def ab_charts(looks: list[Look], group: int) -> Markup:
    """One small chart per A/B metric of canary − production over ``looks`` (oldest first)."""
    names: list[str] = []
    for look in looks:
        names += [n for n in as_dict(look.part("ab").get("metrics")) if n not in names]
    charts, levels = [], set()
    for k, name in enumerate(names):
        points, newest = [], {}
        for look in looks:
            ab = look.report.get("ab")
            m = as_dict(as_dict(as_dict(ab).get("metrics")).get(name))
            label = look_label(look)
            if is_number(m.get("estimate")) and "error" not in m:
                newest = m
                points.append(
                    BandPoint(
                        label,
                        m["estimate"],
                        m.get("lower"),
                        m.get("upper"),
                        str(m.get("decision", "")),
                    )
                )
            else:
                reason = m.get("error") or (ab_reason(look) if ab is None else "not in this look")
                points.append(BandPoint(label, None, None, None, str(reason)))
        if not newest:
            continue
        higher = newest.get("higher_is_better", True) is not False
        margin = newest.get("margin")
        level = 1 - newest["alpha"] if is_number(newest.get("alpha")) else None
        levels.add(percent(level))
        charts.append(
            band_chart(
                points,
                chart_id=f"ab-{group}-{k}",
                title=f"{name}: canary − production over {len(looks)} looks, with "
                f"{percent(level)} anytime-valid confidence sequences",
                heading=f"{name} ({'higher' if higher else 'lower'} is better)",
                margin=(-margin if higher else margin) if is_number(margin) else None,
            )
        )
    if not charts:
        return Markup("")
    level_text = " or ".join(sorted(levels))
    caption = (
        "Canary − production for each A/B metric, look by look (oldest at the left). The line "
        f"is the estimate and the band its {level_text} anytime-valid confidence sequence: it "
        "holds at every look at once, so looking every hour does not inflate false alarms. "
        "Dashed: zero. Dotted: the margin (how much worse the canary may be). A band wholly "
        "beyond the margin reads “worse”, one wholly on the better side of zero “better”, "
        "any other “undecided”. ×: not measured at that look (its tooltip says why)."
    )
    return join([Markup(f'<div class="charts">{join(charts)}</div>'), para(caption, "muted")])


def drift_charts(looks: list[Look], group: int) -> Markup:
    """Per drift check, its tests' adjusted p-values over ``looks`` (oldest first)."""
    out: list[Any] = []
    for k, (key, label) in enumerate(DRIFTS):
        entries = [look.part("drift").get(key) for look in looks]
        checked = [as_dict(e) for e in entries if isinstance(e, dict) and "error" not in e]
        if not checked:
            continue
        tests: list[str] = []
        for e in checked:
            tests += [t for t in as_dict(e.get("adjusted_p_values")) if t not in tests]
        series = [
            PSeries(t, [as_dict(as_dict(e).get("adjusted_p_values")).get(t) for e in entries])
            for t in tests
        ]
        alarms = [
            bool(e.get("alarm")) if isinstance(e, dict) and "error" not in e else None
            for e in entries
        ]
        alpha = checked[-1].get("alpha")
        out.append(
            p_value_chart(
                series,
                [look_label(look) for look in looks],
                alarms,
                alpha=alpha if is_number(alpha) else 0.05,
                chart_id=f"drift-{group}-{k}",
                title=f"{label}: Benjamini-Hochberg-adjusted p-values of the drift tests over "
                f"{len(looks)} looks, and the alarm at each look",
            )
        )
    if not out:
        return Markup("")
    caption = (
        "Drift: each line is one test's p-value after Benjamini-Hochberg adjustment across that "
        "look's tests; a look alarms when any is at or below alpha (the dashed line). Unlike the "
        "A/B bands, each look's drift tests judge that look's window alone."
    )
    return join([*out, para(caption, "muted")])


# -- the pages -------------------------------------------------------------------------------


def _filter(names: list[tuple[str, int]], chosen: str | None) -> Markup:
    total = sum(n for _, n in names)
    items = [("all models", None, total)] + [(name, name, n) for name, n in names]
    parts = []
    for shown, value, n in items:
        current = ' aria-current="page"' if value == chosen else ""
        parts.append(
            f'<a href="{esc(href("/monitor", name=value))}"{current}>'
            f"<b>{esc(n)}</b>{esc(shown)}</a>"
        )
    return Markup(f'<nav class="cards" aria-label="models">{"".join(parts)}</nav>')


def monitor_page(
    store: Store, name: str | None, page: int, per_page: int, audit_per_page: int
) -> Page:
    """The looks, per model name and newest first, with their charts."""
    names = q.monitor_names(store)
    rows, total = q.monitor_page(store, name, page, per_page)
    pages = pages_of(total, per_page)
    check_page(page, pages, "The list of looks")
    looks = [read_look(r) for r in rows]
    statements = q.statement_records(store, statement_ids(looks))
    parts: list[Any] = [heading(1, "Monitor")]
    if not names:
        parts += [
            para("No looks stored: the production monitor writes one row per look here."),
            para(
                "Each look scores a window of live traffic per alias, tests it for drift, "
                "compares the canary with production and applies the monitor gates.",
                "muted",
            ),
        ]
        return Page("Monitor", join(parts), "/monitor")
    parts.append(_filter(names, name))
    if not looks:
        parts.append(para(f"No looks stored for the model {name!r}.", "muted"))
    groups: dict[str, list[Look]] = {}
    for look in looks:
        groups.setdefault(str(look.row.get("name")), []).append(look)
    parts.append(pager("/monitor", page, pages, name=name))
    for g, (model, group) in enumerate(groups.items()):
        oldest_first = [look for look in reversed(group) if not look.error]
        parts += [
            heading(2, model, f"model-{g}"),
            ab_charts(oldest_first, g),
            drift_charts(oldest_first, g),
            table(
                LOOK_HEADERS,
                [look_row(look, statements, audit_per_page) for look in group],
                caption=f"{len(group)} look(s) on this page, newest first",
                numeric=(3, 4),
                row_class=["broken" if look.error else "" for look in group],
            ),
        ]
    parts.append(pager("/monitor", page, pages, name=name))
    return Page("Monitor", join(parts), "/monitor")
