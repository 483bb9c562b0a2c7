"""Human-readable tables for the terminal. Every number shows its n and interval."""

from __future__ import annotations

import math
from typing import Any

from finegate.harness._types import MetricValue


def _fmt(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.3f}"


def _console() -> Any:
    from rich.console import Console

    return Console()


def metrics_table(suite_id: str, values: list[MetricValue]) -> Any:
    from rich.table import Table

    level = round(values[0].level * 100) if values else 95
    table = Table(title=suite_id, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column(f"{level}% CI", justify="right")
    table.add_column("n", justify="right")
    table.add_column("interval")
    for m in values:
        table.add_row(
            m.name,
            _fmt(m.value),
            f"[{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]",
            str(m.n),
            m.method.split("(")[0],
        )
    return table


def print_metrics(
    run_id: str, system_name: str, metrics: dict[str, list[MetricValue]], timings: dict[str, Any]
) -> None:
    console = _console()
    console.print(f"run [bold]{run_id}[/bold]  system {system_name}")
    for suite_id, values in metrics.items():
        console.print(metrics_table(suite_id, values))
    resumed = " (resumed)" if timings.get("resumed") else ""
    console.print(
        f"{timings.get('total_s', 0):.1f} s; {timings.get('computed', 0)} responses computed, "
        f"{timings.get('cache_hits', 0)} from cache{resumed}"
    )


def print_runs(runs: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table()
    for col in ("id", "label", "kind", "status", "system", "suites", "created"):
        table.add_column(col)
    for r in runs:
        table.add_row(
            r["id"],
            r["label"] or "",
            r["kind"],
            r["status"],
            r["system_name"],
            ", ".join(s["id"] for s in r["suites"]),
            r["created_at"][:19],
        )
    _console().print(table)


def print_run(run: dict[str, Any], metrics: dict[str, list[MetricValue]]) -> None:
    console = _console()
    console.print(f"run [bold]{run['id']}[/bold]  {run['status']}  label={run['label'] or '-'}")
    console.print(f"system {run['system_name']}  fingerprint {run['fingerprint'][:16]}")
    env = run["environment"]
    libs = ", ".join(f"{k} {v}" for k, v in sorted(env.get("libraries", {}).items()))
    console.print(f"device {env.get('device')}  dtype {env.get('dtype')}  seed {env.get('seed')}")
    console.print(f"libraries: {libs}")
    for s in run["suites"]:
        console.print(
            f"suite {s['id']} v{s['version']}  hash {s['hash'][:16]}  {s['n_cases']} cases"
        )
    for suite_id, values in metrics.items():
        console.print(metrics_table(suite_id, values))
    if run.get("timings"):
        console.print(f"timings: {run['timings']}")
