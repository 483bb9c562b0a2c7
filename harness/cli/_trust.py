"""``finegate keys`` and ``finegate trust``: identities and the pinned root of trust."""

from __future__ import annotations

import click

from finegate.harness.cli._options import emit_json, json_option


@click.group("keys")
def keys_group() -> None:
    """Ed25519 keys for approvers, CI signers and root signers."""


@keys_group.command("create")
@click.argument("name")
@click.option("--output", "-o", default=".", show_default=True, help="Folder for the key files.")
@json_option
def keys_create(name: str, output: str, as_json: bool) -> None:
    """Write NAME.key (private, mode 0600: keep it out of the store and the repository)
    and NAME.pub.json (public: the release rules' keyring names it)."""
    from finegate.harness.registry.trust import create_key, load_public_key

    private, public = create_key(output, name)
    keyid = load_public_key(public).keyid
    if as_json:
        emit_json({"private": str(private), "public": str(public), "keyid": keyid})
        return
    click.echo(f"wrote {private} (private, 0600) and {public}; key id {keyid}")


@click.group("trust")
def trust_group() -> None:
    """The root of trust the release rules are checked against."""


@trust_group.command("init")
@click.option(
    "--key", "keys", multiple=True, required=True, help="A root public key (.pub.json); repeat."
)
@click.option(
    "--threshold", default=1, show_default=True, help="How many root keys must sign the rules."
)
@click.option(
    "--output",
    "-o",
    required=True,
    help="The trust root file: keep it where changes are reviewed (the team's repository).",
)
def trust_init(keys: tuple[str, ...], threshold: int, output: str) -> None:
    """Pin the root public keys (k of n) that sign the release rules."""
    from finegate.harness.registry.trust import load_public_key, write_trust_root

    root = write_trust_root(output, [load_public_key(k) for k in keys], threshold)
    click.echo(f"wrote {output}: {len(root.keys)} root keys, {root.threshold} must sign")


COMMANDS = [keys_group, trust_group]
