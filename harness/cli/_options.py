"""Options and output helpers shared by every package's commands."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable
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
    from finegate.harness.store import Store

    return Store(location, create=create)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"finegate.{param.name}"] = value
    return value


def endpoint_options(fn: Any) -> Any:
    """``--endpoint URL --endpoint-model NAME``: evaluate a model behind an
    OpenAI-compatible endpoint instead of a local one. The values wait in the
    context's ``meta`` for ``system_spec``, so commands need no new arguments."""
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


def system_spec(
    model: str,
    adapter: str | None = None,
    template: str | None = None,
    dtype: str = "auto",
    device: str = "auto",
    load_in_4bit: bool = False,
    batch_size: int = 8,
) -> Any:
    """The ``SystemSpec`` the command line names: an endpoint (``--endpoint`` +
    ``--endpoint-model``, or ``--model openai:NAME@URL``), else a local model with
    its adapter; behind a prompt template when one is given."""
    from finegate.harness.system import SystemSpec

    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx is not None else {}
    url = meta.get("finegate.endpoint")
    if url is not None:
        name = meta.get("finegate.endpoint_model")
        if not name:
            from finegate.harness.core import InputError, Problem

            raise InputError(Problem("--endpoint needs --endpoint-model", field="--endpoint-model"))
        return SystemSpec(
            endpoint=url,
            model=name,
            template=template,
            api_key_env=meta.get("finegate.api_key_env"),
            concurrency=meta.get("finegate.concurrency") or 8,
        )
    return SystemSpec(
        model=model,
        adapter=adapter,
        template=template,
        dtype=dtype,
        device=device,
        load_in_4bit=load_in_4bit,
        batch_size=batch_size,
        api_key_env=meta.get("finegate.api_key_env"),
        concurrency=meta.get("finegate.concurrency") or 8,
    )


def system_from_options(*args: Any, **kwargs: Any) -> Any:
    """The system the command line names (the arguments of ``system_spec``)."""
    from finegate.harness.system import build_system

    return build_system(system_spec(*args, **kwargs))


MODEL_HELP = "Model folder, .gguf file, embedded model name or cached hub id."


def model_options(
    *,
    template: bool = True,
    load_in_4bit: bool = True,
    endpoint: bool = True,
    model_help: str = MODEL_HELP,
    adapter_help: str = "PEFT adapter folder.",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options that name a system: ``--model``, ``--adapter``, ``--template``,
    ``--dtype``, ``--device``, ``--load-in-4bit``, ``--batch-size`` and the
    endpoint options; a command that has no use for some leaves them out."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        options = [
            click.option(
                "--model",
                "-m",
                default="smollm2-135m-instruct",
                show_default=True,
                help=model_help,
            ),
            click.option("--adapter", default=None, help=adapter_help),
        ]
        if template:
            options.append(
                click.option(
                    "--template", default=None, help="Prompt template YAML (system prompt, shots)."
                )
            )
        options += [
            click.option("--dtype", default="auto", show_default=True),
            click.option("--device", default="auto", show_default=True),
        ]
        if load_in_4bit:
            options.append(
                click.option(
                    "--load-in-4bit", is_flag=True, help="NF4 4-bit weights via bitsandbytes."
                )
            )
        options.append(
            click.option("--batch-size", default=8, show_default=True, type=click.IntRange(1))
        )
        for option in reversed(options):
            fn = option(fn)
        return endpoint_options(fn) if endpoint else fn

    return wrap


registry_option = click.option(
    "--registry",
    "registry_uri",
    default=None,
    envvar="FINEGATE_REGISTRY",
    help="'store' (the results store, default) or 'mlflow:<tracking URI>'.",
)

actor_option = click.option("--actor", default=None, help="Who acts (default: the user name).")

trust_root_option = click.option(
    "--trust-root",
    "trust_root",
    default=None,
    envvar="FINEGATE_TRUST_ROOT",
    help="The pinned trust root (root public keys) the release rules are checked against.",
)


checkpoints_option = click.option(
    "--checkpoints",
    "checkpoints",
    default=None,
    envvar="FINEGATE_CHECKPOINTS",
    help="The folder the audit log's signed checkpoints are kept in, outside the store "
    "(a repository, an artifact store); checked before an alias moves.",
)


def key_option(*, required: bool, help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--key``: a private key file (``finegate keys create``) that signs the act."""
    return click.option("--key", "key_path", required=required, default=None, help=help)


def store_and_registry(store: str | None, uri: str | None, create: bool = False) -> tuple[Any, Any]:
    from finegate.harness.registry import open_registry

    st = open_store(store, create=create)
    return st, open_registry(st, uri)


def resolve_actor(actor: str | None) -> str:
    """Who acts: ``--actor``, else ``FINEGATE_ACTOR``, else the user name. A name for
    the record, not an identity: identities are keys (the release rules' keyring)."""
    if actor:
        return actor
    if os.environ.get("FINEGATE_ACTOR"):
        return os.environ["FINEGATE_ACTOR"]
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
