"""``finegate pii`` (training-data census, redaction of stored runs) and
``finegate privacy`` (canary exposure, membership inference, PII extraction and
the privacy/utility trade-off). Results are stored as runs, like
``finegate contamination``, so gates and reports read them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from finegate.harness.cli._options import emit_json, json_option, open_store, store_option


def _scanner(mode: str, entities: str | None, threshold: float, allow_list_file: str | None) -> Any:
    from finegate.harness.pii import PIIScanner, read_allow_list

    return PIIScanner(
        mode,
        entities=[e.strip() for e in entities.split(",") if e.strip()] if entities else None,
        threshold=threshold,
        allow_list=read_allow_list(allow_list_file) if allow_list_file else (),
    )


def _scanner_options(default_mode: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        options = [
            click.option(
                "--pii-mode",
                "mode",
                default=default_mode,
                show_default=True,
                type=click.Choice(["spacy", "pattern"]),
                help="spacy: names and places too; pattern: identifiers only, faster.",
            ),
            click.option("--entities", default=None, help="Comma-separated presidio entity types."),
            click.option(
                "--threshold",
                default=0.4,
                show_default=True,
                type=click.FloatRange(0.0, 1.0),
                help="presidio's score floor.",
            ),
            click.option(
                "--allow-list", "allow_list_file", default=None, help="File of values never PII."
            ),
        ]
        for option in reversed(options):
            fn = option(fn)
        return fn

    return wrap


@click.group("pii")
def pii_group() -> None:
    """PII in training data and in stored runs."""


@pii_group.command("scan")
@click.argument("data")
@click.option(
    "--output",
    "-o",
    default=None,
    help="Folder for pii_census.json and pii_sample.jsonl [default: DATA's folder].",
)
@click.option(
    "--format",
    "data_format",
    default=None,
    type=click.Choice(["chat", "alpaca", "prompt_completion", "text"]),
)
@click.option("--sample", default=20, show_default=True, type=click.IntRange(0))
@_scanner_options("spacy")
@json_option
def pii_scan(
    data: str,
    output: str | None,
    data_format: str | None,
    sample: int,
    mode: str,
    entities: str | None,
    threshold: float,
    allow_list_file: str | None,
    as_json: bool,
) -> None:
    """Count the PII in a training file by entity type; write a JSON census (for
    the training manifest and the dp_if_pii gate) and a redacted sample."""
    from finegate.harness.core import progress_bar
    from finegate.harness.data import scan_data
    from finegate.harness.pii import write_census

    scanner = _scanner(mode, entities, threshold, allow_list_file)
    with progress_bar(enabled=not as_json) as update:
        summary, redacted = scan_data(
            data, scanner, data_format=data_format, sample=sample, on_progress=update
        )
    folder = Path(output) if output else Path(data).resolve().parent
    path = write_census(folder, summary, redacted)
    if as_json:
        emit_json({"census": str(path), **summary})
        return
    n, k = summary["examples"], summary["examples_with_pii"]
    lo, hi = summary["rate_ci"]
    rate = f"{k / n:.1%} [{lo:.1%}, {hi:.1%}]" if n else "n/a"
    click.echo(f"{data}: {n} examples, {k} with PII ({rate}, Wilson 95%)")
    click.echo(f"{summary['total']} values, {summary['distinct_values']} distinct:")
    for etype, count in sorted(summary["by_type"].items(), key=lambda x: -x[1]):
        click.echo(
            f"  {etype:<20} {count:>6} values in {summary['examples_by_type'][etype]} examples"
        )
    click.echo(f"census {path}; redacted sample {folder / 'pii_sample.jsonl'}")
    if summary["total"]:
        click.echo(
            "this data holds PII: scrub it (`finegate data prepare --scrub-pii`) or train "
            "with differential privacy (method dp-sgd)"
        )


@pii_group.command("redact-run")
@click.argument("run")
@_scanner_options("spacy")
@store_option
def pii_redact_run(
    run: str,
    mode: str,
    entities: str | None,
    threshold: float,
    allow_list_file: str | None,
    store: str | None,
) -> None:
    """Replace the stored answers of RUN (and their cached responses) by their
    redacted form, overwriting the old bytes in the store file."""
    from finegate.harness.pii import redact_run

    st = open_store(store, create=False)
    changed, dropped = redact_run(st, run, _scanner(mode, entities, threshold, allow_list_file))
    click.echo(f"{changed} answers redacted, {dropped} cached responses removed")


COMMANDS = [pii_group]
