"""Benchmark results: one row per measurement, printed as a table and written as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Result:
    """One measured comparison. ``ratio`` is reference time over finegate time
    (above 1: finegate is faster), or the figure a target is stated in."""

    section: str
    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _fmt(value: float) -> str:
    if value == 0 or abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def print_table(results: list[Result]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="finegate benchmarks")
    for column in ("section", "measure", "value", "unit", "target", "met"):
        table.add_column(column)
    for r in results:
        met = "" if r.met is None else ("yes" if r.met else "NO")
        table.add_row(r.section, r.name, _fmt(r.value), r.unit, r.target, met)
    Console().print(table)


def write_json(path: Path, machine: dict[str, Any], results: list[Result], **extra: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine, **extra, "results": [asdict(r) for r in results]}
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def markdown_table(results: list[Result]) -> str:
    """The table as Markdown, for benchmarks/README.md."""
    lines = ["| section | measure | value | unit | target | met |", "|---|---|---|---|---|---|"]
    for r in results:
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(
            f"| {r.section} | {r.name} | {_fmt(r.value)} | {r.unit} | {r.target} | {met} |"
        )
    return "\n".join(lines) + "\n"
