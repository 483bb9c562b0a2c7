"""Inline SVG charts: each value a dot, its confidence interval a whisker.

A dot with a whisker shows what a bar hides: whether two numbers differ by
more than their uncertainty. Every row carries its value as text, so nothing
is told by position or colour alone, and every label is escaped (metric names
come from the store).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from finegate.harness.view._html import Markup, esc, fmt, is_number, pfmt, signed


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


# -- the monitor's looks over time -------------------------------------------------------


def _nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """Round ticks covering [lo, hi], about ``n`` steps of 1, 2 or 5 times a power of ten."""
    raw = (hi - lo) / n
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [k * step for k in range(math.floor(lo / step), math.ceil(hi / step) + 1)]


def _spread(count: int, left: float, scale: float) -> list[float]:
    """The x of each of ``count`` looks, evenly spaced, oldest at the left."""
    return [left + (i / (count - 1) * scale if count > 1 else scale / 2) for i in range(count)]


def _stretches(flags: list[bool]) -> list[list[int]]:
    """The runs of consecutive indices whose flag is set (a line breaks at a gap)."""
    out: list[list[int]] = []
    for i, on in enumerate(flags):
        if on and out and out[-1][-1] == i - 1:
            out[-1].append(i)
        elif on:
            out.append([i])
    return out


def _first_and_last(labels: list[str], xs: list[float], at: float) -> str:
    last = len(labels) - 1
    out = []
    for i in sorted({0, last}):
        anchor = "start" if i == 0 < last else "end" if i == last > 0 else "middle"
        out.append(f'<text x="{xs[i]:.1f}" y="{at}" text-anchor="{anchor}">{esc(labels[i])}</text>')
    return "".join(out)


def _svg_open(chart_id: str, title: str, width: int, height: int) -> str:
    return (
        f'<svg role="img" aria-labelledby="{esc(chart_id)}-title" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{esc(chart_id)}-title">{esc(title)}</title>'
    )


def _hline(y: float, x1: float, x2: float, style: str) -> str:
    return f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y:.1f}" y2="{y:.1f}" {style}/>'


@dataclass(frozen=True)
class BandPoint:
    """One look at a difference: its estimate inside its band, or, with no
    estimate, why it was not measured (``note``)."""

    label: str
    estimate: float | None
    lower: float | None
    upper: float | None
    note: str = ""


def band_chart(
    points: list[BandPoint], *, chart_id: str, title: str, heading: str, margin: float | None
) -> Markup:
    """A small chart of an estimate over the looks (oldest first) inside its band,
    with the zero line (dashed) and, where ``margin`` is given and not 0, the
    margin line (dotted). A look with nothing measured is a grey cross on the
    zero line; every point's numbers are in its tooltip."""
    if not points:
        return Markup("")
    width, left, right, top, plot_h = 400, 58, 16, 30, 120
    scale = width - left - right
    est = [float(p.estimate) if is_number(p.estimate) else None for p in points]
    band = [
        (float(p.lower), float(p.upper)) if is_number(p.lower) and is_number(p.upper) else None  # type: ignore[arg-type]
        for p in points
    ]
    values = [v for v in est if v is not None] + [v for b in band if b for v in b]
    values += [0.0, float(margin)] if is_number(margin) else [0.0]  # type: ignore[arg-type]
    ticks = _nice_ticks(min(values), max(values)) if max(values) > min(values) else [-1.0, 0, 1.0]
    lo, hi = ticks[0], ticks[-1]
    xs = _spread(len(points), left, scale)

    def y(v: float) -> float:
        return top + plot_h * (hi - min(max(v, lo), hi)) / (hi - lo)

    parts = [
        _svg_open(chart_id, title, width, top + plot_h + 34),
        f'<text x="{left}" y="{top - 12}" font-weight="600">{esc(heading)}</text>',
    ]
    for t in ticks:
        parts.append(_hline(y(t), left, left + scale, 'stroke="#e2e2e2"'))
        parts.append(
            f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t + 0.0:.4g}</text>'
        )
    for stretch in _stretches([b is not None for b in band]):  # one look wide: a bar
        upper = [f"{xs[i]:.1f},{y(band[i][1]):.1f}" for i in stretch]  # type: ignore[index]
        lower = [f"{xs[i]:.1f},{y(band[i][0]):.1f}" for i in reversed(stretch)]  # type: ignore[index]
        parts.append(
            f'<polygon points="{" ".join(upper + lower)}" fill="#b3261e" fill-opacity="0.2" '
            'stroke="#b3261e" stroke-opacity="0.6" stroke-width="3"/>'
        )
    parts.append(_hline(y(0.0), left, left + scale, 'stroke="#555" stroke-dasharray="4 3"'))
    if is_number(margin) and margin != 0:
        my = y(float(margin))  # type: ignore[arg-type]
        parts.append(_hline(my, left, left + scale, 'stroke="#7a4f00" stroke-dasharray="1 3"'))
        parts.append(
            f'<text x="{left + scale}" y="{my - 4:.1f}" text-anchor="end">'
            f"margin {esc(signed(margin))}</text>"
        )
    for stretch in _stretches([v is not None for v in est]):
        line = " ".join(f"{xs[i]:.1f},{y(est[i]):.1f}" for i in stretch)  # type: ignore[arg-type]
        parts.append(f'<polyline points="{line}" fill="none" stroke="#1a1a1a" stroke-width="2"/>')
    for i, p in enumerate(points):
        value = est[i]
        if value is None:
            parts.append(
                f'<text x="{xs[i]:.1f}" y="{y(0.0) + 4:.1f}" text-anchor="middle" fill="#888">'
                f"×<title>{esc(p.label)}: not measured: {esc(p.note)}</title></text>"
            )
            continue
        bounds = band[i]
        told = f", CS [{fmt(bounds[0])}, {fmt(bounds[1])}]" if bounds else ""
        note = f", {p.note}" if p.note else ""
        parts.append(
            f'<circle cx="{xs[i]:.1f}" cy="{y(value):.1f}" r="3.5" fill="#1a1a1a">'
            f"<title>{esc(p.label)}: {esc(signed(value))}{esc(told)}{esc(note)}</title></circle>"
        )
    parts.append(_first_and_last([p.label for p in points], xs, top + plot_h + 18))
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class PSeries:
    label: str
    values: list[float | None]  # one per look, None where not measured


def p_value_chart(
    series: list[PSeries],
    bins: list[str],
    alarms: list[bool | None],
    *,
    alpha: float,
    chart_id: str,
    title: str,
) -> Markup:
    """Adjusted p-values over the looks (oldest first) on a log scale with the
    alpha line, and beneath them the alarm at each look as a strip of squares
    (filled: alarm; open: none; grey: not measured)."""
    if not bins:
        return Markup("")
    width, left, right, top, plot_h = 820, 56, 230, 26, 150
    scale = width - left - right
    smallest = min((v for s in series for v in s.values if is_number(v) and v > 0), default=1.0)  # type: ignore[operator]
    floor = max(-6, min(-1, math.floor(math.log10(smallest)), math.floor(math.log10(alpha))))
    xs = _spread(len(bins), left, scale)

    def y(p: float) -> float:
        exponent = math.log10(p) if p > 0 else floor
        return top + plot_h * min(max(exponent, floor), 0) / floor

    parts = [
        _svg_open(chart_id, title, width, top + plot_h + 60),
        f'<text x="{left}" y="{top - 10}">adjusted p-value (log scale)</text>',
    ]
    for k in range(0, floor - 1, -1):
        parts.append(_hline(y(10.0**k), left, left + scale, 'stroke="#e2e2e2"'))
        parts.append(
            f'<text x="{left - 6}" y="{y(10.0**k) + 4:.1f}" text-anchor="end">{10.0**k:g}</text>'
        )
    parts.append(_hline(y(alpha), left, left + scale, 'stroke="#b3261e" stroke-dasharray="4 3"'))
    parts.append(
        f'<text x="{left + scale - 4}" y="{y(alpha) - 4:.1f}" text-anchor="end">'
        f"alpha {esc(fmt(alpha))}</text>"
    )
    for k, s in enumerate(series):
        colour, dash = _STROKES[k % len(_STROKES)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        values = [float(v) if is_number(v) else None for v in s.values]
        parts.append(f"<g><title>{esc(s.label)}</title>")
        for stretch in _stretches([v is not None for v in values]):
            line = " ".join(f"{xs[i]:.1f},{y(values[i]):.1f}" for i in stretch)  # type: ignore[arg-type]
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dashed}/>'
            )
        for i, v in enumerate(values):
            if v is not None:
                parts.append(
                    f'<circle cx="{xs[i]:.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                    f"<title>{esc(s.label)} · {esc(bins[i])}: adjusted p {esc(pfmt(v))}"
                    "</title></circle>"
                )
        ly = top + 6 + k * 18
        parts.append(
            _hline(
                ly,
                left + scale + 14,
                left + scale + 40,
                f'stroke="{colour}" stroke-width="2"{dashed}',
            )
            + f'<text x="{left + scale + 46}" y="{ly + 4:.1f}">{esc(s.label)}</text></g>'
        )
    strip = top + plot_h + 12
    parts.append(f'<text x="{left - 6}" y="{strip + 9}" text-anchor="end">alarm</text>')
    for i, alarm in enumerate(alarms):
        fill, said = (
            ("#ccc", "not measured")
            if alarm is None
            else ("#b3261e", "alarm")
            if alarm
            else ("#fff", "no alarm")
        )
        parts.append(
            f'<rect x="{xs[i] - 4:.1f}" y="{strip}" width="8" height="10" fill="{fill}" '
            f'stroke="#333"><title>{esc(bins[i])}: {said}</title></rect>'
        )
    parts.append(_first_and_last(bins, xs, strip + 28))
    parts.append("</svg>")
    return Markup("".join(parts))
