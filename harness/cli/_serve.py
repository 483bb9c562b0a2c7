"""The commands that start a local server: ``finegate serve`` (the evaluated system, or
a registered model by its aliases, over the OpenAI API), ``finegate serve-token`` (a
caller's token) and ``finegate view`` (the store, read-only, in a browser)."""

from __future__ import annotations

from typing import Any

import click

from finegate.harness.cli._options import (
    model_options,
    open_store,
    registry_option,
    store_option,
    system_from_options,
    trust_root_option,
)


@click.command("serve")
@model_options(endpoint=False)
@click.option(
    "--registered",
    default=None,
    help="Serve this registered model's production version, and its canary version to "
    "--canary-share of callers; follow both aliases as they move (instead of --model).",
)
@click.option(
    "--canary-share",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Share of callers (sticky per caller) answered by the canary version.",
)
@click.option(
    "--poll-s",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.05),
    help="How often the aliases are read.",
)
@store_option
@registry_option
@trust_root_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--served-name", default=None, help="Model name clients ask for [default: the system's name]."
)
@click.option(
    "--batch-window-ms",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Requests arriving within this window are answered by one batched call.",
)
@click.option("--max-batch", default=32, show_default=True, type=click.IntRange(1))
@click.option("--max-tokens", default=256, show_default=True, help="Default max_tokens.")
@click.option(
    "--request-log/--no-request-log",
    default=True,
    show_default=True,
    help="Log every request (redacted) in the store before answering it.",
)
@click.option(
    "--log-raw-text",
    is_flag=True,
    help="Keep prompts and answers unredacted in the request log (each row says so).",
)
@click.option(
    "--log-retention-days",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.0, min_open=True),
    help="Delete request-log rows older than this.",
)
@click.option(
    "--pii-mode",
    type=click.Choice(["spacy", "pattern"]),
    default="spacy",
    show_default=True,
    help="How the request log finds PII: spaCy names and patterns, or patterns only.",
)
@click.option(
    "--tokens",
    "tokens_path",
    default=None,
    help="Callers' token digests (`finegate serve-token`): every request then needs a "
    "token, and feedback is taken.",
)
@click.option("--cost-per-1k-prompt", default=0.0, show_default=True, type=click.FloatRange(0))
@click.option("--cost-per-1k-completion", default=0.0, show_default=True, type=click.FloatRange(0))
@click.pass_context
def serve_command(
    ctx: click.Context,
    model: str,
    adapter: str | None,
    template: str | None,
    dtype: str,
    device: str,
    load_in_4bit: bool,
    batch_size: int,
    registered: str | None,
    canary_share: float,
    poll_s: float,
    store: str | None,
    registry_uri: str | None,
    trust_root: str | None,
    host: str,
    port: int,
    served_name: str | None,
    batch_window_ms: float,
    max_batch: int,
    max_tokens: int,
    request_log: bool,
    log_raw_text: bool,
    log_retention_days: float,
    pii_mode: str,
    tokens_path: str | None,
    cost_per_1k_prompt: float,
    cost_per_1k_completion: float,
) -> None:
    """Serve a model as an OpenAI-compatible endpoint (chat, completions, models,
    feedback, /metrics)."""
    from click.core import ParameterSource

    from finegate.harness.core import InputError, Problem
    from finegate.harness.serve import CallerTokens, RequestLog, ServeOptions, serve

    named = [
        f"--{p}"
        for p in ("model", "adapter", "template")
        if ctx.get_parameter_source(p) is ParameterSource.COMMANDLINE
    ]
    if registered and named:
        raise InputError(
            Problem(
                f"--registered serves what the registry names; drop {', '.join(named)}",
                field="--registered",
            )
        )
    if canary_share and not registered:
        raise InputError(Problem("a canary needs --registered", field="--canary-share"))
    st = open_store(store) if (registered or request_log) else None
    target: object
    if registered:
        from finegate.harness.registry import open_registry
        from finegate.harness.registry.trust import load_trust_root
        from finegate.harness.serve import AliasFollower, AliasSource, Batching, BatchStats

        source = AliasSource(
            st, open_registry(st, registry_uri), registered, load_trust_root(trust_root)
        )
        target = AliasFollower(
            source,
            canary_share=canary_share,
            batching=Batching(batch_window_ms / 1000.0, max_batch),
            stats=BatchStats(),
            poll_s=poll_s,
        )
    else:
        target = system_from_options(
            model, adapter, template, dtype, device, load_in_4bit, batch_size
        )
    log = None
    if request_log:
        from finegate.harness.pii import PIIScanner

        log = RequestLog(
            st,
            scanner=PIIScanner(pii_mode),
            raw=log_raw_text,
            retention_days=log_retention_days,
        )
    options = ServeOptions(
        batch_window_s=batch_window_ms / 1000.0,
        max_batch=max_batch,
        default_max_tokens=max_tokens,
        served_name=served_name or registered,
        request_log=log,
        callers=CallerTokens.load(tokens_path) if tokens_path else None,
        cost_per_1k_prompt_tokens=cost_per_1k_prompt,
        cost_per_1k_completion_tokens=cost_per_1k_completion,
    )
    _announce(target, options, host, port, log)
    serve(target, host=host, port=port, options=options, log_level="warning")  # type: ignore[arg-type]


def _announce(target: Any, options: Any, host: str, port: int, log: Any) -> None:
    from finegate.harness.serve import AliasFollower

    if isinstance(target, AliasFollower):
        slots = target.deployment.slots
        what = ", ".join(f"{alias} = {slot.label}" for alias, slot in slots.items())
        share = target.deployment.canary_share if "canary" in slots else 0.0
        click.echo(f"serving {what} (canary share {share:.0%} of callers)", err=True)
    else:
        click.echo(
            f"serving {target.name} (fingerprint {target.fingerprint()[:12]})",  # type: ignore[attr-defined]
            err=True,
        )
    if log is None:
        click.echo("request log: off", err=True)
    else:
        form = log.text_form
        warning = "  (RAW TEXT: prompts and answers are stored unredacted)" if form == "raw" else ""
        click.echo(f"request log: {log.store.location}, {form}{warning}", err=True)
    click.echo(f"at http://{host}:{port}/v1 (metrics at /metrics)", err=True)


@click.command("serve-token")
@click.argument("caller")
@click.option("--tokens", "tokens_path", required=True, help="The tokens file a server reads.")
def serve_token_command(caller: str, tokens_path: str) -> None:
    """Give CALLER a new token (printed once; only its digest is kept in --tokens)."""
    from finegate.harness.serve import new_token

    click.echo(new_token(tokens_path, caller))


@click.command("view")
@store_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Loopback address to listen on: 127.0.0.1, ::1 or localhost (nothing else).",
)
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 takes any free one.",
)
def view_command(store: str | None, host: str, port: int) -> None:
    """Browse the store in a web browser: runs, metrics with intervals, paired
    comparisons, verdicts, the audit log and the registry.

    Read-only (the store is never written, nor migrated) and on loopback only.
    Serves until interrupted (Ctrl-C).
    """
    from finegate.harness.view import serve_view

    def announce(url: str) -> None:
        click.echo(f"finegate view: {url}  (read-only; Ctrl-C to stop)")

    serve_view(store, host=host, port=port, announce=announce)
    click.echo("finegate view: stopped", err=True)


COMMANDS = [serve_command, serve_token_command, view_command]
