"""``finegate assets pull|import|list``: model files that are not on PyPI (detoxify's)."""

from __future__ import annotations

import click

from finegate.harness.cli._options import emit_json, json_option

_VARIANTS = ("original", "unbiased", "multilingual")

_NAMES = click.Choice(["detoxify"])


@click.group("assets")
def assets_group() -> None:
    """Downloaded model files kept under $FINEGATE_HOME/assets (detoxify's weights)."""


@assets_group.command("pull")
@click.argument("name", type=_NAMES)
@click.option("--variant", type=click.Choice(_VARIANTS), default="original", show_default=True)
def assets_pull(name: str, variant: str) -> None:
    """Download NAME's files (where the network allows) and install them for offline use."""
    from finegate.harness.safety import pull_detoxify

    path = pull_detoxify(variant)
    click.echo(f"installed {name} {variant} in {path}")


@assets_group.command("import")
@click.argument("name", type=_NAMES)
@click.argument("source", type=click.Path(exists=True))
@click.option("--variant", type=click.Choice(_VARIANTS), default="original", show_default=True)
def assets_import(name: str, source: str, variant: str) -> None:
    """Install NAME from SOURCE, a folder or .tar.gz/.zip carried to an offline machine:
    the detoxify checkpoint (.ckpt) with its base model's config.json and tokenizer files."""
    from finegate.harness.safety import install_detoxify, read_manifest

    path = install_detoxify(source, variant)
    manifest = read_manifest(name, variant) or {}
    click.echo(
        f"installed {name} {variant} in {path} "
        f"(checkpoint SHA-256 {str(manifest.get('source_sha256'))[:12]})"
    )


@assets_group.command("list")
@json_option
def assets_list(as_json: bool) -> None:
    """Installed assets with their source and SHA-256."""
    from finegate.harness.safety import list_assets

    items = list_assets()
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo("no assets installed")
    for item in items:
        click.echo(
            f"{item['name']} {item['variant']}  sha256 {str(item['source_sha256'])[:12]}  "
            f"from {item['source']}  ({item['path']})"
        )


COMMANDS = [assets_group]
