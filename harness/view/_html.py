"""The page frame and the small pieces every page is built from.

Everything a page shows from the store is untrusted text: a system's name, a
model's answer, an audit record's actor can hold markup. So every value is
escaped unless it is ``Markup`` (HTML this package wrote itself), and the frame
sends no script and loads nothing: the style sheet is inline, charts are
inline SVG, and the response's Content-Security-Policy forbids anything else.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

# What a page may load: its own inline style and data: images, nothing else; no
# script at all, forms only to this server, and no framing by another site.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

NAV = (
    ("/", "Runs"),
    ("/compare", "Compare"),
    ("/verdicts", "Verdicts"),
    ("/audit", "Audit log"),
    ("/registry", "Registry"),
    ("/serving", "Serving"),
    ("/monitor", "Monitor"),
)

CSS = """
:root { --ink: #1a1a1a; --muted: #555; --line: #cfcfcf; --pass: #1b5e20; --fail: #b71c1c;
        --warn: #7a4f00; --bg-pass: #e8f5e9; --bg-fail: #fdecea; --bg-warn: #fff4e0;
        --link: #0b57d0; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); margin: 0; }
header { background: #20252b; color: #fff; padding: 0.55rem 1.5rem; display: flex;
         flex-wrap: wrap; gap: 0.4rem 1.4rem; align-items: baseline; }
header .brand { font-weight: 700; }
header nav a { color: #fff; margin-right: 1rem; text-decoration: none; }
header nav a[aria-current="page"] { text-decoration: underline; }
header .store { color: #c9d1d9; font-size: 0.85rem; margin-left: auto; }
main { max-width: 1280px; margin: 0 auto; padding: 1rem 1.5rem 2rem; }
a { color: var(--link); }
h1 { font-size: 1.55rem; margin: 0.6rem 0 0.8rem; word-break: break-all; }
h2 { font-size: 1.2rem; border-bottom: 2px solid var(--ink); padding-bottom: 0.15rem;
     margin-top: 1.8rem; }
h3 { font-size: 1.02rem; margin: 1.2rem 0 0.3rem; }
table { border-collapse: collapse; width: 100%; margin: 0.4rem 0 1rem; font-size: 0.88rem; }
caption { text-align: left; color: var(--muted); padding: 0.2rem 0; }
th, td { border: 1px solid var(--line); padding: 0.25rem 0.45rem; text-align: left;
         vertical-align: top; }
thead th { background: #f0f2f4; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 11em; overflow: auto;
        min-width: 14ch; }
.wide { min-width: 26ch; }
.nowrap { white-space: nowrap; }
.scroll { overflow-x: auto; }
code, .mono { font: 0.84em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.muted { color: var(--muted); }
.badge { font-weight: 700; white-space: nowrap; }
.badge.pass { color: var(--pass); } .badge.fail, .badge.error { color: var(--fail); }
.badge.warn, .badge.waived { color: var(--warn); }
.banner { padding: 0.6rem 0.9rem; border-left: 6px solid var(--ink); margin: 0.6rem 0 1rem; }
.banner.pass { background: var(--bg-pass); border-color: var(--pass); }
.banner.fail { background: var(--bg-fail); border-color: var(--fail); }
.banner.warn { background: var(--bg-warn); border-color: var(--warn); }
tr.broken td { background: var(--bg-fail); }
tr.raw td, tr.raw th { background: var(--bg-warn); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1rem;
           margin: 0.4rem 0 1rem; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; word-break: break-all; }
.pager { margin: 0.5rem 0; } .pager a, .pager span { margin-right: 0.8rem; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 0.4rem 0 1rem; }
.cards a { border: 1px solid var(--line); padding: 0.5rem 0.8rem; text-decoration: none;
           color: var(--ink); min-width: 9rem; }
.cards b { display: block; font-size: 1.3rem; }
.cards a[aria-current="page"] { border-color: var(--ink); border-width: 2px; }
form.pick { display: flex; flex-wrap: wrap; gap: 0.6rem 1rem; align-items: end; }
form.pick label { display: flex; flex-direction: column; font-weight: 600; }
form.pick select { min-width: 22rem; font: inherit; }
svg { max-width: 100%; height: auto; }
.charts { display: flex; flex-wrap: wrap; gap: 0.4rem 1.2rem; margin: 0.4rem 0; }
svg text { font: 11px system-ui, sans-serif; fill: var(--ink); }
details summary { cursor: pointer; color: var(--link); }
footer { color: var(--muted); font-size: 0.8rem; padding: 1rem 1.5rem; }
"""


class Markup(str):
    """HTML this package wrote, inserted as it is; every other value is escaped."""


def esc(value: Any) -> str:
    """Text for HTML content and quoted attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def cell(value: Any) -> str:
    return value if isinstance(value, Markup) else esc(value)


def join(parts: Iterable[Any], sep: str = "") -> Markup:
    return Markup(sep.join(cell(p) for p in parts))


def is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def fmt(x: Any) -> str:
    """A number as people read it: four decimals, or four significant digits
    when that would hide it (a latency in microseconds, tokens per second)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
        return f"{x:.4g}"
    return f"{x + 0.0:.4f}"  # + 0.0: no "-0.0000"


def signed(x: Any) -> str:
    text = fmt(x)
    return f"+{text}" if is_number(x) and x > 0 else text


def pfmt(p: Any) -> str:
    if not is_number(p):
        return "n/a"
    return f"{p:.2e}" if p < 1e-3 else f"{p:.4f}"


def percent(level: Any) -> str:
    """A confidence level as people say it: 95%."""
    return f"{level * 100:g}%" if is_number(level) else "n/a"


def interval(lo: Any, hi: Any) -> str:
    if not is_number(lo) or not is_number(hi):
        return "n/a"
    return f"[{fmt(lo)}, {fmt(hi)}]"


def short(digest: Any, n: int = 12) -> str:
    return str(digest or "")[:n]


def compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def href(path: str, **query: Any) -> str:
    """A link to this viewer; query values left out when None."""
    params = {k: v for k, v in query.items() if v is not None}
    return path + ("?" + urlencode(params) if params else "")


def run_href(run_id: str, **query: Any) -> str:
    return href("/runs/" + quote(str(run_id), safe=""), **query)


def link(target: str, text: Any, *, title: Any = None) -> Markup:
    extra = f' title="{esc(title)}"' if title is not None else ""
    return Markup(f'<a href="{esc(target)}"{extra}>{cell(text)}</a>')


def run_link(run_id: Any, text: Any = None) -> Markup:
    if not run_id:
        return Markup("")
    shown = text if text is not None else Markup(f'<span class="nowrap">{esc(run_id)}</span>')
    return link(run_href(str(run_id)), shown)


def when(stamp: Any) -> Markup:
    """A stored time (ISO 8601, UTC) as people read it, to the second; the full
    stamp stays in the title."""
    text = str(stamp or "")
    shown = text
    if len(text) >= 19 and text[10:11] == "T":
        shown = text[:10] + " " + text[11:19] + (" UTC" if text.endswith("+00:00") else "")
    return Markup(f'<span class="nowrap" title="{esc(text)}">{esc(shown)}</span>')


def code(value: Any) -> Markup:
    return Markup(f"<code>{esc(value)}</code>")


def text_block(value: Any, *, wide: bool = False) -> Markup:
    """A long text (a prompt, an answer) kept whole, in a box that scrolls."""
    cls = "text wide" if wide else "text"
    return Markup(f'<div class="{cls}">{esc(value)}</div>')


def lines_of(mapping: Any) -> str:
    """A small mapping as ``key: value`` lines (nested values as JSON)."""
    if not isinstance(mapping, dict):
        return compact_json(mapping)
    return "\n".join(
        f"{k}: {v if isinstance(v, str) else compact_json(v)}" for k, v in sorted(mapping.items())
    )


def badge(status: Any) -> Markup:
    symbols = {"pass": "✓", "fail": "✗", "warn": "!", "waived": "~", "error": "?"}
    s = str(status or "")
    cls = s if s in symbols else ""
    return Markup(f'<span class="badge {cls}">{esc(symbols.get(s, ""))} {esc(s.upper())}</span>')


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    caption: Any = None,
    numeric: Sequence[int] = (),
    row_class: Sequence[str] | None = None,
    row_ids: Sequence[str | None] | None = None,
    empty: str = "Nothing recorded.",
) -> Markup:
    """A table whose cells are escaped unless they are ``Markup``; the first cell
    of each row is its header cell (``scope="row"``)."""
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{esc(row_class[i])}"' if row_class and row_class[i] else ""
        rid = f' id="{esc(row_ids[i])}"' if row_ids and row_ids[i] else ""
        cells = []
        for j, value in enumerate(row):
            if j == 0:
                cells.append(f'<th scope="row">{cell(value)}</th>')
            else:
                num = ' class="num"' if j in numeric else ""
                cells.append(f"<td{num}>{cell(value)}</td>")
        body.append(f"<tr{cls}{rid}>{''.join(cells)}</tr>")
    if not body:
        return Markup(f'<p class="muted">{esc(empty)}</p>')
    cap = f"<caption>{cell(caption)}</caption>" if caption is not None else ""
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    return Markup(
        f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def facts(pairs: Iterable[tuple[str, Any]]) -> Markup:
    """A definition list of a thing's properties."""
    items = "".join(f"<dt>{esc(k)}</dt><dd>{cell(v)}</dd>" for k, v in pairs)
    return Markup(f'<dl class="facts">{items}</dl>')


def pages_of(total: int, per_page: int) -> int:
    return max(1, math.ceil(total / per_page))


def pager(path: str, page: int, pages: int, **query: Any) -> Markup:
    """Newer/older links between the pages of a long list."""
    if pages <= 1:
        return Markup("")
    parts = []
    if page > 1:
        parts.append(link(href(path, **query, page=page - 1), "← previous"))
    parts.append(Markup(f"<span>page {page} of {pages}</span>"))
    if page < pages:
        parts.append(link(href(path, **query, page=page + 1), "next →"))
    return Markup(f'<nav class="pager" aria-label="pages">{join(parts)}</nav>')


def document(title: str, body: str, *, store: str, active: str | None = None) -> str:
    """The whole page: the frame around one page's body."""
    nav = "".join(
        f'<a href="{esc(path)}"'
        + (' aria-current="page"' if path == active else "")
        + f">{esc(name)}</a>"
        for path, name in NAV
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        '<link rel="icon" href="data:,">'
        f"<title>{esc(title)} · finegate view</title><style>{CSS}</style></head>"
        f'<body><header><span class="brand">finegate view</span><nav>{nav}</nav>'
        f'<span class="store">store <code>{esc(store)}</code> · read-only</span></header>'
        f"<main>{body}</main>"
        "<footer>Read-only: this viewer never writes to the store, and nothing on this "
        "page was loaded from the network.</footer></body></html>\n"
    )


class PageError(Exception):
    """A request that has no page: its HTTP status and the sentence that says why."""

    def __init__(self, status: int, title: str, message: str):
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
