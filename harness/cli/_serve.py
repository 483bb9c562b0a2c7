"""``finegate serve``: the evaluated system (model, adapter, template) over the OpenAI API."""

from __future__ import annotations

import click

from finegate.harness.cli._options import model_options, system_from_options


@click.command("serve")
@model_options(endpoint=False)
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
def serve_command(
    model: str,
    adapter: str | None,
    template: str | None,
    dtype: str,
    device: str,
    load_in_4bit: bool,
    batch_size: int,
    host: str,
    port: int,
    served_name: str | None,
    batch_window_ms: float,
    max_batch: int,
    max_tokens: int,
) -> None:
    """Serve a model as an OpenAI-compatible endpoint (chat, completions, models)."""
    from finegate.harness.serve import ServeOptions, serve

    system = system_from_options(model, adapter, template, dtype, device, load_in_4bit, batch_size)
    options = ServeOptions(
        batch_window_s=batch_window_ms / 1000.0,
        max_batch=max_batch,
        default_max_tokens=max_tokens,
        served_name=served_name,
    )
    name = served_name or system.name  # type: ignore[attr-defined]
    click.echo(
        f"serving {name} (fingerprint {system.fingerprint()[:12]}) "  # type: ignore[attr-defined]
        f"at http://{host}:{port}/v1",
        err=True,
    )
    serve(system, host=host, port=port, options=options, log_level="warning")  # type: ignore[arg-type]


COMMANDS = [serve_command]
