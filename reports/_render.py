"""Reports in three formats: a self-contained HTML file (CSS and SVG inline, no
script, nothing from the network, a print stylesheet with a page per section),
a short Markdown summary for pull requests, and JSON.

Every value reaching the HTML is escaped by Jinja's autoescaping: a model's
answer is shown as text, never interpreted as markup.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).parent / "templates"
SYMBOLS = {"pass": "✓", "fail": "✗", "warn": "!", "waived": "~", "error": "?"}

CSS = """
:root { --ink: #1a1a1a; --muted: #4a4a4a; --line: #c8c8c8; --pass: #1b5e20; --fail: #b71c1c;
        --warn: #7a4f00; --bg-pass: #e8f5e9; --bg-fail: #fdecea; --bg-warn: #fff4e0; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       max-width: 1100px; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.7rem; margin: 0.2rem 0 1rem; } h2 { border-bottom: 2px solid var(--ink);
     padding-bottom: 0.2rem; margin-top: 2.2rem; } h3 { margin-top: 1.4rem; }
.eyebrow { color: var(--muted); margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 0.6rem 0 1rem; font-size: 0.9rem; }
caption { text-align: left; color: var(--muted); padding: 0.2rem 0; }
th, td { border: 1px solid var(--line); padding: 0.3rem 0.45rem; text-align: left;
         vertical-align: top; }
thead th { background: #f0f0f0; }
.verdict { padding: 0.7rem 0.9rem; border-left: 6px solid var(--ink); }
.verdict.pass { background: var(--bg-pass); border-color: var(--pass); }
.verdict.fail, .verdict.error { background: var(--bg-fail); border-color: var(--fail); }
.badge { font-weight: 700; white-space: nowrap; }
.badge.pass { color: var(--pass); } .badge.fail, .badge.error { color: var(--fail); }
.badge.warn, .badge.waived { color: var(--warn); }
.case { border: 1px solid var(--line); padding: 0.4rem 0.7rem; margin: 0.5rem 0;
        break-inside: avoid; }
.case h4 { margin: 0.2rem 0; }
dt { font-weight: 700; margin-top: 0.5rem; } dd { margin-left: 1rem; }
code { font-size: 0.85em; } svg text { font: 11px system-ui, sans-serif; fill: var(--ink); }
footer { margin-top: 2rem; color: var(--muted); font-size: 0.85rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  section { break-before: page; } section#verdict { break-before: auto; }
  tr, .case, svg { break-inside: avoid; } a { color: inherit; }
  .verdict, .badge { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x + 0.0:.4f}" if isinstance(x, float) else str(x)  # + 0.0: no "-0.0000"


def signed(x: Any) -> str:
    text = fmt(x)
    return f"+{text}" if isinstance(x, float) and x > 0 else text


def pfmt(p: Any) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return f"{p:.2e}" if p < 1e-3 else f"{p:.4f}"


def comparison_chart(deltas: list[dict[str, Any]], limit: int = 8) -> str:
    """Baseline and candidate side by side for the rates, with interval whiskers,
    as inline SVG. Bars carry their values as text: nothing is told by colour alone."""
    rows = [
        d
        for d in deltas
        if 0.0 <= (d["a"]["value"] or 0) <= 1.0
        and 0.0 <= (d["b"]["value"] or 0) <= 1.0
        and "[" not in d["name"]
    ][:limit]
    if not rows:
        return ""
    width, left, bar, gap = 760, 230, 11, 10
    height = len(rows) * (2 * bar + gap) + 40
    scale = width - left - 130
    parts = [
        f'<svg role="img" aria-labelledby="chart-title" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Baseline (hatched) and candidate (solid) per metric, '
        "with 95% interval whiskers</title>",
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#555" stroke-width="3"/></pattern></defs>',
    ]
    y = 10
    for d in rows:
        parts.append(
            f'<text x="{left - 8}" y="{y + bar + 4}" text-anchor="end">'
            f"{jinja2.filters.escape(d['name'])}</text>"
        )
        for side, fill, label in (("a", "url(#hatch)", "baseline"), ("b", "#333", "candidate")):
            m = d[side]
            w = max(0.0, m["value"]) * scale
            parts.append(
                f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" '
                f'fill="{fill}" stroke="#333"><title>{label} {m["value"]:.3f}</title></rect>'
            )
            if m.get("ci_low") is not None and m.get("ci_high") is not None:
                x1, x2 = left + m["ci_low"] * scale, left + m["ci_high"] * scale
                parts.append(
                    f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y + bar / 2}" '
                    f'y2="{y + bar / 2}" stroke="#b00" stroke-width="2"/>'
                )
            parts.append(
                f'<text x="{left + w + 6:.1f}" y="{y + bar - 2}">{label} {m["value"]:.3f}</text>'
            )
            y += bar
        y += gap
    parts.append(f'<line x1="{left}" x2="{left + scale}" y1="{y}" y2="{y}" stroke="#333"/>')
    for tick in (0, 0.5, 1):
        parts.append(
            f'<text x="{left + tick * scale}" y="{y + 14}" text-anchor="middle">{tick}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def headline(data: dict[str, Any]) -> str:
    verdict = data.get("verdict")
    if not verdict:
        return "Not decided"
    approved = {"pass": "APPROVED", "fail": "NOT APPROVED", "error": "NOT APPROVED (undecided)"}
    return f"{approved[verdict['status']]} by policy {data['policy']['id']}"


def render_html(data: dict[str, Any]) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    verdict = data.get("verdict")
    blocking = [
        g
        for g in (verdict or {}).get("gates", [])
        if g["severity"] == "block" and g["status"] in ("fail", "error")
    ]
    deltas = (data.get("comparison") or {}).get("deltas", [])
    safety = [
        (s, m)
        for s, ms in data["metrics"].items()
        for m in ms
        if any(x["id"] == s and x["kind"] == "safety" for x in data["run"]["suites"])
    ]
    return env.get_template("report.html.j2").render(
        **data,
        css=CSS,
        headline=headline(data),
        blocking=blocking,
        deltas=[d for d in deltas if "[" not in d["name"]],
        chart=comparison_chart(deltas),
        safety=safety,
        symbols=SYMBOLS,
        fmt=fmt,
        signed=signed,
        pfmt=pfmt,
    )


def render_markdown(data: dict[str, Any]) -> str:
    """A short summary for a pull-request comment."""
    lines = [
        f"## finegate: {headline(data)}",
        "",
        f"Candidate `{data['run']['id']}` ({data['run']['system']})"
        + (f" vs baseline `{data['baseline']['id']}`" if data.get("baseline") else ""),
    ]
    verdict = data.get("verdict")
    if verdict:
        lines += ["", "| gate | status | observed | interval | required |", "|---|---|---|---|---|"]
        for g in verdict["gates"]:
            ci = (
                f"[{fmt(g['ci_low'])}, {fmt(g['ci_high'])}]"
                if g.get("ci_low") is not None and g.get("ci_high") is not None
                else ""
            )
            req = (
                f"{g.get('bound') or ''} {g['comparator']} {fmt(g['threshold'])}".strip()
                if g.get("threshold") is not None
                else ""
            )
            lines.append(
                f"| {g['gate_id']} | {SYMBOLS[g['status']]} {g['status']} | "
                f"{fmt(g.get('observed'))} | {ci} | {req} |"
            )
    deltas = [d for d in (data.get("comparison") or {}).get("deltas", []) if "[" not in d["name"]][
        :10
    ]
    if deltas:
        lines += [
            "",
            "| metric | baseline | candidate | difference | interval |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {d['name']} | {fmt(d['a']['value'])} | {fmt(d['b']['value'])} | "
            f"{signed(d['delta'])} | [{fmt(d['ci_low'])}, {fmt(d['ci_high'])}] |"
            for d in deltas
        ]
    lines += [
        "",
        f"Audit chain: {'intact' if data['audit']['ok'] else 'BROKEN'} "
        f"({data['audit']['records']} records).",
    ]
    inc = data["audit"].get("inclusion")
    if inc:
        lines += [
            "",
            f"Inclusion proof of the {inc['what']} (record {inc['record']['seq']}) in the "
            f"checkpoint of {inc['tree_size']} records at `{inc['checkpoint']}`: "
            f"{'holds' if inc['holds'] else 'DOES NOT HOLD'}. Check it offline:",
            "",
            f"    {inc.get('command') or 'finegate audit verify-proof PROOF.json'}",
        ]
    return "\n".join(lines) + "\n"


def render(data: dict[str, Any], fmt_name: str) -> str:
    if fmt_name == "html":
        return render_html(data)
    if fmt_name == "md":
        return render_markdown(data)
    if fmt_name == "json":
        return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
    raise ValueError(f"unknown format {fmt_name!r}")
