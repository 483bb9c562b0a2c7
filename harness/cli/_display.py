"""Human-readable tables for the terminal. Every number shows its n and interval."""

from __future__ import annotations

import math
from typing import Any

from finegate.harness.core import MetricValue, last_turn_text


def _fmt(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.3f}"


def make_console() -> Any:
    """A terminal gets its own width; a pipe or a CI log gets wide lines, not
    columns squeezed to 80 characters and cut."""
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def metrics_table(suite_id: str, values: list[MetricValue]) -> Any:
    from rich.markup import escape
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
            escape(m.name),  # names like refusal[self_harm] are not rich markup
            _fmt(m.value),
            f"[{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]",
            str(m.n),
            m.method.split("(")[0],
        )
    return table


def print_metrics(
    run_id: str, system_name: str, metrics: dict[str, list[MetricValue]], timings: dict[str, Any]
) -> None:
    console = make_console()
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
    make_console().print(table)


def confusion_tables(run: dict[str, Any], records: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """A confusion matrix for every label-accuracy scorer of the run's suites."""
    from rich.table import Table

    from finegate.harness.scorer import confusion_matrix

    tables = []
    for suite in run["suites"]:
        for spec in suite.get("scorers", []):
            if spec["name"] != "label_accuracy":
                continue
            alias = spec["as"]
            facts = [
                r["facts"][alias]
                for r in records
                if r["suite_id"] == suite["id"] and alias in r.get("facts", {})
            ]
            if not facts:
                continue
            labels, columns, matrix = confusion_matrix(facts, spec["args"].get("classes"))
            table = Table()
            table.add_column("expected")
            for c in columns:
                table.add_column(c, justify="right")
            for label, row in zip(labels, matrix, strict=True):
                table.add_row(label, *[str(x) for x in row])
            tables.append((f"{suite['id']}: {alias} (rows: expected, columns: answered)", table))
    return tables


def print_run(
    run: dict[str, Any],
    metrics: dict[str, list[MetricValue]],
    records: list[dict[str, Any]] | None = None,
) -> None:
    console = make_console()
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
    for heading, table in confusion_tables(run, records or []):
        console.print(heading)
        console.print(table)
    if run.get("timings"):
        console.print(f"timings: {run['timings']}")


def _short(value: Any, width: int = 70) -> str:
    text = " ".join(last_turn_text(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _percent(x: float | None) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x * 100:+.1f}%"


def _relative(d: Any) -> str:
    """A relative change and its interval: "-4.2% [-9.1%, +0.5%]"."""
    if d.relative is None:
        return "n/a"
    if d.relative_ci_low is None:
        return _percent(d.relative)
    return f"{_percent(d.relative)} [{_percent(d.relative_ci_low)}, {_percent(d.relative_ci_high)}]"


def print_comparison(
    comparison: Any, prompt_price: float, completion_price: float, flipped_limit: int
) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = make_console()
    a, b = comparison.run_a, comparison.run_b
    console.print(f"A (baseline)  {a['id']}  {a['system_name']}  {a['label'] or ''}")
    console.print(f"B (candidate) {b['id']}  {b['system_name']}  {b['label'] or ''}")
    table = Table(title="paired differences, B - A", title_justify="left")
    for col in ("suite", "metric", "A", "B", "B - A", "CI", "relative (CI)", "p", "test", "n"):
        table.add_column(col, justify="right" if col not in ("suite", "metric", "test") else "left")
    for d in comparison.deltas:
        sign = "+" if d.delta > 0 else ""
        table.add_row(
            d.suite_id,
            escape(d.name),  # per-class names like category.precision[billing] are not markup
            _fmt(d.a.value),
            _fmt(d.b.value),
            f"{sign}{_fmt(d.delta)}",
            f"[{_fmt(d.ci_low)}, {_fmt(d.ci_high)}]",
            _relative(d),
            "n/a" if math.isnan(d.p_value) else f"{d.p_value:.4f}",
            d.test,
            str(d.n_paired),
        )
    console.print(table)
    level = round(comparison.deltas[0].level * 100) if comparison.deltas else 95
    console.print(
        f"{level}% intervals; McNemar's exact test for 0/1 scores, paired bootstrap "
        "otherwise. A metric improved only where its interval excludes 0."
    )
    usage = Table(title="should we fine-tune? what each answer costs", title_justify="left")
    for col in (
        "run",
        "requests",
        "prompt tokens",
        "answer tokens",
        "latency p50 s",
        "latency p95 s",
        "cost / 1,000 requests",
    ):
        usage.add_column(col, justify="right" if col != "run" else "left")
    for name, run in (("A", a), ("B", b)):
        u = comparison.usage[run["id"]]
        cost = (
            f"{u.cost_per_1000(prompt_price, completion_price):.4f}"
            if prompt_price or completion_price
            else "set --prompt-price"
        )
        usage.add_row(
            name,
            str(u.n),
            f"{u.prompt_tokens_mean:.1f}",
            f"{u.completion_tokens_mean:.1f}",
            f"{u.latency_p50_s:.3f}",
            f"{u.latency_p95_s:.3f}",
            cost,
        )
    console.print(usage)
    if comparison.flipped:
        flips = Table(
            title=f"flipped cases (first {flipped_limit} of {len(comparison.flipped)})",
            title_justify="left",
        )
        for col in ("suite", "case", "metric", "B is", "prompt", "A answered", "B answered"):
            flips.add_column(col)
        for f in comparison.flipped[:flipped_limit]:
            flips.add_row(
                f.suite_id,
                f.case_id,
                f.metric,
                f.direction,
                _short(f.prompt, 40),
                _short(f.output_a, 30),
                _short(f.output_b, 30),
            )
        console.print(flips)


def print_contamination(result: Any, suite_id: str) -> None:
    console = make_console()
    console.print(f"run [bold]{result.run_id}[/bold]  contamination of {suite_id}")
    console.print(metrics_table(suite_id, result.metrics))
    dirty = [c for c in result.cases if c.contaminated]
    for c in dirty[:20]:
        kind = (
            "exact duplicate"
            if c.exact_duplicate
            else "near duplicate"
            if c.near_duplicate
            else f"{c.ngram_overlap:.0%} of n-grams seen"
        )
        console.print(f"  {c.case_id}: {kind}; training lines {list(c.matches)[:5]}")
    if len(dirty) > 20:
        console.print(f"  ... and {len(dirty) - 20} more")


def print_metrics_brief(store: Any, title: str, run_id: str) -> None:
    """One run's metrics (those without a per-class breakdown), under a title."""
    run = store.get_run(run_id)
    console = make_console()
    console.print(f"[bold]{title}[/bold]: run {run_id}, {run['system_name']}")
    for suite_id, values in store.metrics(run_id).items():
        console.print(metrics_table(suite_id, [m for m in values if "[" not in m.name]))


def print_drift(drift: Any, show: int) -> None:
    """Rates of each kind of change, then the changed answers side by side."""
    from rich.table import Table

    console = make_console()
    a, b = drift.run_a, drift.run_b
    console.print(f"base (known good) {a['id']}  {a['system_name']}  {a['label'] or ''}")
    console.print(f"candidate         {b['id']}  {b['system_name']}  {b['label'] or ''}")
    for suite_id, metrics in drift.metrics.items():
        console.print(metrics_table(f"{suite_id}: how the answers changed", metrics))
    changed = [c for c in drift.changes if c.changed]
    if not changed:
        return
    table = Table(
        title=f"changed answers (first {min(show, len(changed))} of {len(changed)})",
        title_justify="left",
        show_lines=True,
    )
    for col in ("case", "how", "base answer", "candidate answer"):
        table.add_column(col, overflow="fold")
    for c in changed[:show]:
        table.add_row(c.case_id, ", ".join(c.kinds), c.base[:300], c.candidate[:300])
    console.print(table)
