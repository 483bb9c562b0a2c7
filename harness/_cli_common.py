"""Options and output helpers shared by every package's commands."""

from __future__ import annotations

import json
from typing import Any

import click


def _finite(data: Any) -> Any:
    """NaN is not JSON: an undefined number (no cases scored) becomes null."""
    if isinstance(data, float) and data != data:
        return None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(v) for v in data]
    return data


def emit_json(data: Any) -> None:
    click.echo(json.dumps(_finite(data), indent=2, sort_keys=True, default=str))


store_option = click.option(
    "--store",
    "store",
    default=None,
    envvar="FINEGATE_STORE",
    help="Results store: a SQLite path or SQLAlchemy URL [default: $FINEGATE_HOME/finegate.db].",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def open_store(location: str | None, *, create: bool = True) -> Any:
    from finegate.harness._store import Store

    return Store(location, create=create)
