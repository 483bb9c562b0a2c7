"""What every page is made of: the ``Page`` a route returns, headings and
paragraphs, and the plain-text forms of what a case asked and answered.

A request that names nothing the store holds raises ``PageError`` with the
status and sentence the visitor sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from finegate.harness.core import InputError
from finegate.harness.store import Store
from finegate.harness.view._html import (
    Markup,
    PageError,
    compact_json,
    esc,
    fmt,
)

# Scorers whose metrics are seconds, tokens or money, not rates: a 0-1 chart
# would squash them to its left edge, so they stay in the tables.
UNITFUL_SCORERS = ("latency", "cost")


def unitful_prefixes(suites: Any) -> set[str]:
    """The metric name prefixes (scorer aliases) of unitful scorers in a run's suites."""
    out = set()
    for info in suites or []:
        for spec in info.get("scorers") or [] if isinstance(info, dict) else []:
            if isinstance(spec, dict) and spec.get("name") in UNITFUL_SCORERS:
                out.add(str(spec.get("as") or spec.get("name")))
    return out


@dataclass(frozen=True)
class Page:
    """A route's answer: its title, its body, and the navigation entry it is under."""

    title: str
    body: Markup
    active: str | None = None


def heading(level: int, text: Any, anchor: str | None = None) -> Markup:
    ident = f' id="{esc(anchor)}"' if anchor else ""
    return Markup(f"<h{level}{ident}>{esc(text)}</h{level}>")


def para(text: Any, cls: str | None = None) -> Markup:
    klass = f' class="{esc(cls)}"' if cls else ""
    return Markup(f"<p{klass}>{esc(text) if not isinstance(text, Markup) else text}</p>")


def check_page(page: int, pages: int, what: str) -> None:
    if page > pages:
        raise PageError(
            404, "No such page", f"{what} has {pages} page(s); there is no page {page}."
        )


def get_run(store: Store, ref: str) -> dict[str, Any]:
    try:
        return store.get_run(ref)
    except InputError as e:
        raise PageError(404, "Run not found", str(e)) from None


def prompt_text(request: Any) -> str:
    """What the case asked, as a person reads it."""
    if not isinstance(request, dict):
        return "" if request is None else str(request)
    prompt = request.get("prompt")
    if isinstance(prompt, list):
        lines = []
        for m in prompt:
            if isinstance(m, dict):
                content = m.get("content")
                text = content if isinstance(content, str) else compact_json(content)
                lines.append(f"{m.get('role', '?')}: {text}")
            else:
                lines.append(str(m))
        return "\n".join(lines)
    if prompt is not None:
        return prompt if isinstance(prompt, str) else compact_json(prompt)
    if "context" in request:
        return f"{request.get('context')}\n→ {request.get('continuation', '')}"
    return compact_json({k: v for k, v in request.items() if k != "params"})


def output_text(output: Any) -> str:
    if isinstance(output, dict) and isinstance(output.get("text"), str):
        return str(output["text"])
    return "" if output is None else compact_json(output)


def scores_text(scores: Any) -> str:
    if not isinstance(scores, dict):
        return "" if scores is None else str(scores)
    return "\n".join(f"{k} = {fmt(v)}" for k, v in sorted(scores.items()))


def verdict_anchor(verdict: dict[str, Any]) -> str:
    return "verdict-" + "".join(
        c if c.isalnum() or c in "-_" else "-" for c in str(verdict.get("id", ""))
    )
