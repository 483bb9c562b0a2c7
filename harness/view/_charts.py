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


@dataclass(frozen=True)
class Series:
    label: str
    counts: list[int]  # one per bin, every series over the same bins


# Distinct by colour and by dash, so a series is told apart without colour too.
_STROKES = (
    ("#1a1a1a", ""),
    ("#b3261e", "6 3"),
    ("#0b57d0", "2 3"),
    ("#1b5e20", "8 3 2 3"),
    ("#7a4f00", "1 2"),
)


def count_chart(
    series: list[Series], bins: list[str], *, chart_id: str, title: str, unit: str
) -> Markup:
    """Counts over time: one line per series across ``bins`` (their labels, oldest
    first), a legend naming each series with its total, and each point's count in
    its tooltip when the points are few enough to mark."""
    if not series or not bins:
        return Markup("")
    width, left, right, top, plot_h = 820, 56, 230, 26, 180
    scale = width - left - right
    height = top + plot_h + 40
    peak = max((c for s in series for c in s.counts), default=0)
    step = 10 ** max(0, math.floor(math.log10(peak))) if peak > 0 else 1
    y_max = max(step * math.ceil(peak / step), 1)

    def x(i: int) -> float:
        return left + (i / (len(bins) - 1) * scale if len(bins) > 1 else scale / 2)

    def y(c: float) -> float:
        return top + plot_h * (1 - c / y_max)

    parts = [
        f'<svg role="img" aria-labelledby="{esc(chart_id)}-title" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{esc(chart_id)}-title">{esc(title)}</title>',
        f'<text x="{left}" y="{top - 10}">{esc(unit)}</text>',
    ]
    for t in (0, y_max / 2, y_max):
        ty = y(t)
        parts.append(
            f'<line x1="{left}" x2="{left + scale}" y1="{ty:.1f}" y2="{ty:.1f}" '
            'stroke="#e2e2e2" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">{t:g}</text>'
        )
    last = len(bins) - 1
    for i in sorted({0, last // 2, last}):
        anchor = "start" if i == 0 < last else "end" if i == last > 0 else "middle"
        parts.append(
            f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="{anchor}">'
            f"{esc(bins[i])}</text>"
        )
    mark = len(bins) <= 72
    for k, s in enumerate(series):
        colour, dash = _STROKES[k % len(_STROKES)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        points = " ".join(f"{x(i):.1f},{y(c):.1f}" for i, c in enumerate(s.counts))
        total = sum(s.counts)
        parts.append(f"<g><title>{esc(s.label)}: {total} in all, at most {max(s.counts)}</title>")
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dashed}/>'
        )
        if mark:
            for i, c in enumerate(s.counts):
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(c):.1f}" r="3" fill="{colour}">'
                    f"<title>{esc(s.label)} · {esc(bins[i])}: {c}</title></circle>"
                )
        ly = top + 6 + k * 18
        parts.append(
            f'<line x1="{left + scale + 14}" x2="{left + scale + 40}" y1="{ly:.1f}" '
            f'y2="{ly:.1f}" stroke="{colour}" stroke-width="2"{dashed}/>'
            f'<text x="{left + scale + 46}" y="{ly + 4:.1f}">{esc(s.label)} ({total})</text></g>'
        )
    parts.append(
        f'<line x1="{left}" x2="{left + scale}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#333"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
