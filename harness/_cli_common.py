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


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"finegate.{param.name}"] = value
    return value


def endpoint_options(fn: Any) -> Any:
    """``--endpoint URL --endpoint-model NAME``: evaluate a model behind an
    OpenAI-compatible endpoint instead of a local one. The values wait in the
    context's ``meta`` for ``endpoint_from_context``, so commands need no new arguments."""
    options = [
        click.option(
            "--endpoint",
            default=None,
            expose_value=False,
            callback=_remember,
            help="OpenAI-compatible base URL (e.g. http://127.0.0.1:8000/v1); "
            "or give --model openai:NAME@URL.",
        ),
        click.option(
            "--endpoint-model",
            default=None,
            expose_value=False,
            callback=_remember,
            help="The model name the endpoint serves.",
        ),
        click.option(
            "--api-key-env",
            default=None,
            expose_value=False,
            callback=_remember,
            help="Environment variable holding the endpoint's API key (never stored).",
        ),
        click.option(
            "--concurrency",
            default=8,
            show_default=True,
            type=click.IntRange(1),
            expose_value=False,
            callback=_remember,
            help="Endpoint requests in flight at once.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def endpoint_from_context(model: str) -> Any:
    """The ``OpenAICompatible`` system the command line names, or ``None``."""
    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx is not None else {}
    url = meta.get("finegate.endpoint")
    if url is None and not model.startswith("openai:"):
        return None
    from finegate.harness._openai import OpenAICompatible, parse_endpoint_ref

    if url is None:
        name, url = parse_endpoint_ref(model)
    else:
        name = meta.get("finegate.endpoint_model")
        if not name:
            from finegate.harness._errors import InputError, Problem

            raise InputError(Problem("--endpoint needs --endpoint-model", field="--endpoint-model"))
    return OpenAICompatible(
        url,
        name,
        api_key_env=meta.get("finegate.api_key_env"),
        concurrency=meta.get("finegate.concurrency") or 8,
    )


def build_system(
    model: str,
    adapter: str | None,
    template: str | None,
    dtype: str,
    device: str,
    load_in_4bit: bool,
    batch_size: int,
) -> Any:
    """The system a command names: an endpoint (``--endpoint`` or ``openai:``), else
    an HF model with its adapter; wrapped in a prompt template when one is given."""
    from finegate.harness._hf import HFModel
    from finegate.harness._template import PromptTemplate

    system: Any = endpoint_from_context(model) or HFModel(
        model,
        adapter=adapter,
        dtype=dtype,
        device=device,
        load_in_4bit=load_in_4bit,
        batch_size=batch_size,
    )
    if template:
        system = PromptTemplate.from_yaml(template).wrap(system)
    return system
