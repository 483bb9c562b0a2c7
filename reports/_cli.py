"""``finegate report``, contributed through ``finegate.commands``."""

from __future__ import annotations

from typing import Any

import click

from finegate.harness.cli import open_store, registry_option, store_and_registry, store_option


@click.command("report")
@click.option("--run", "-r", "run_ref", required=True, help="The candidate run.")
@click.option("--baseline", "-b", "baseline_ref", default=None)
@click.option("--policy", "-p", "policy_ref", default=None, help="Show this policy's verdict.")
@click.option("--model-version", "version_ref", default=None, help="NAME:N, for its lineage.")
@click.option(
    "--card",
    "card_path",
    default=None,
    help="YAML with intended_use, out_of_scope, owner, limitations.",
)
@click.option(
    "--format",
    "fmt_name",
    type=click.Choice(["html", "md", "json"]),
    default="html",
    show_default=True,
)
@click.option("--output", "-o", required=True)
@click.option(
    "--pii",
    type=click.Choice(["spacy", "pattern"]),
    default="spacy",
    show_default=True,
    help="The PII scanner every text passes through.",
)
@click.option(
    "--checkpoints",
    default=None,
    envvar="FINEGATE_CHECKPOINTS",
    help="The folder of kept checkpoints: the report carries the inclusion proof of the "
    "model's promotion in the newest one that holds it.",
)
@click.option(
    "--public-key",
    default=None,
    help="The public key of the checkpoint's signer, for the verification command shown.",
)
@store_option
@registry_option
def report_command(
    run_ref: str,
    baseline_ref: str | None,
    policy_ref: str | None,
    version_ref: str | None,
    card_path: str | None,
    fmt_name: str,
    output: str,
    pii: str,
    checkpoints: str | None,
    public_key: str | None,
    store: str | None,
    registry_uri: str | None,
) -> None:
    """Write a self-contained report for compliance: verdict, gates, evidence, lineage, audit."""
    from finegate.harness.core import atomic_write_text
    from finegate.reports._collect import Redactor, attach_proof, collect
    from finegate.reports._render import render

    policy = None
    if policy_ref:
        from finegate.gates import load_policy

        policy = load_policy(policy_ref)
    card: dict[str, Any] = {}
    if card_path:
        from finegate.harness.core import read_yaml

        loaded, _ = read_yaml(card_path)
        card = loaded if isinstance(loaded, dict) else {}
    st = open_store(store, create=False)
    version = store_and_registry(store, registry_uri)[1].get(version_ref) if version_ref else None
    data = collect(
        st,
        run_ref,
        baseline_ref=baseline_ref,
        policy=policy,
        model_version=version,
        card=card,
        redact=Redactor(pii),
        checkpoints=checkpoints,
    )
    attach_proof(data, output, public_key)
    atomic_write_text(output, render(data, fmt_name))
    click.echo(output)
