"""Inline SVG charts: each value a dot, its confidence interval a whisker.

A dot with a whisker shows what a bar hides: whether two numbers differ by
more than their uncertainty. Every row carries its value as text, so nothing
is told by position or colour alone, and every label is escaped (metric names
come from the store).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from finegate.harness.view._html import Markup, esc, fmt, is_number, signed


@dataclass(frozen=True)
class ChartRow:
    label: str
    value: float
    low: float | None
    high: float | None
    n: int | None = None


def _ticks(lo: float, hi: float) -> list[float]:
    step = (hi - lo) / 4
    return [lo + i * step for i in range(5)]


def interval_chart(
    rows: list[ChartRow],
    *,
    chart_id: str,
    title: str,
    domain: tuple[float, float] = (0.0, 1.0),
    zero_line: bool = False,
    level: float = 0.95,
    signed_values: bool = False,
) -> Markup:
    """Rows of dot-and-whisker on a shared horizontal scale over ``domain``."""
    if not rows:
        return Markup("")
    lo, hi = domain
    width, left, right, row_h, top = 820, 250, 120, 22, 26
    scale = width - left - right
    height = top + len(rows) * row_h + 24

    def x(v: float) -> float:
        v = min(max(v, lo), hi)
        return left + (v - lo) / (hi - lo) * scale

    parts = [
        f'<svg role="img" aria-labelledby="{esc(chart_id)}-title" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{esc(chart_id)}-title">{esc(title)}</title>',
    ]
    axis_y = top + len(rows) * row_h + 4
    for t in _ticks(lo, hi):
        tx = x(t)
        parts.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{top - 6}" y2="{axis_y}" '
            'stroke="#e2e2e2" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{tx:.1f}" y="{axis_y + 14}" text-anchor="middle">{t + 0.0:g}</text>'
        )
    if zero_line and lo < 0 < hi:
        zx = x(0.0)
        parts.append(
            f'<line x1="{zx:.1f}" x2="{zx:.1f}" y1="{top - 6}" y2="{axis_y}" '
            'stroke="#555" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
    parts.append(
        f'<text x="{left}" y="{top - 10}" class="muted">'
        f"dot: value · whisker: {round(level * 100)}% confidence interval</text>"
    )
    show = signed if signed_values else fmt
    for i, row in enumerate(rows):
        cy = top + i * row_h + row_h / 2
        ci = (
            f", {round(level * 100)}% CI [{fmt(row.low)}, {fmt(row.high)}]"
            if is_number(row.low) and is_number(row.high)
            else ""
        )
        n = f", n={row.n}" if row.n is not None else ""
        parts.append(f"<g><title>{esc(row.label)} {esc(show(row.value))}{esc(ci)}{esc(n)}</title>")
        parts.append(
            f'<text x="{left - 10}" y="{cy + 4:.1f}" text-anchor="end">{esc(row.label)}</text>'
        )
        if is_number(row.low) and is_number(row.high):
            x1, x2 = x(float(row.low)), x(float(row.high))  # type: ignore[arg-type]
            parts.append(
                f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
                'stroke="#b3261e" stroke-width="2"/>'
            )
            for cap in (x1, x2):
                parts.append(
                    f'<line x1="{cap:.1f}" x2="{cap:.1f}" y1="{cy - 5:.1f}" y2="{cy + 5:.1f}" '
                    'stroke="#b3261e" stroke-width="2"/>'
                )
        parts.append(
            f'<circle cx="{x(row.value):.1f}" cy="{cy:.1f}" r="4.5" fill="#1a1a1a"/>'
            f'<text x="{left + scale + 10}" y="{cy + 4:.1f}">{esc(show(row.value))}</text></g>'
        )
    parts.append(
        f'<line x1="{left}" x2="{left + scale}" y1="{axis_y}" y2="{axis_y}" stroke="#333"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def rate_rows(
    items: list[tuple[str, float, float | None, float | None, int | None]], limit: int = 40
) -> list[ChartRow]:
    """The rows a 0-1 chart can show honestly: a finite value and interval inside
    [0, 1] (accuracies, rates, F1); latencies and counts stay in the table."""
    out = []
    for label, value, low, high, n in items:
        if not is_number(value) or not 0.0 <= value <= 1.0:
            continue
        bounds_ok = all(b is None or (is_number(b) and -1e-9 <= b <= 1 + 1e-9) for b in (low, high))
        if not bounds_ok:
            continue
        out.append(ChartRow(label, float(value), low, high, n))
    return out[:limit]


def symmetric_domain(rows: list[ChartRow]) -> tuple[float, float]:
    """A domain centred on zero wide enough for every interval, for deltas."""
    reach = max(
        (abs(v) for r in rows for v in (r.value, r.low, r.high) if is_number(v)),
        default=0.0,
    )
    reach = max(reach, 0.01)
    step = 10 ** math.floor(math.log10(reach))
    reach = math.ceil(reach / step) * step
    return -reach, reach
