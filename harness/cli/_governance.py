"""Registry and audit commands: ``finegate registry|approve|rollback|audit``.

Every action that changes the registry appends an audit record in the same
transaction. ``finegate promote`` needs a policy, so the gates package adds it.
"""

from __future__ import annotations

import json
import sys

import click

from finegate.harness.cli._options import (
    actor_option,
    emit_json,
    json_option,
    open_store,
    registry_option,
    resolve_actor,
    store_and_registry,
    store_option,
)
from finegate.harness.core import read_json_file


@click.group("registry")
def registry_group() -> None:
    """Model versions with lineage, aliases and approvals."""


@registry_group.command("register")
@click.argument("name")
@click.option(
    "--run",
    "run_ref",
    required=True,
    help="The evaluation run of the system to register (its fingerprint and lineage).",
)
@store_option
@registry_option
@actor_option
@json_option
def registry_register(
    name: str,
    run_ref: str,
    store: str | None,
    registry_uri: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Register the system an evaluation run evaluated as a new version of NAME."""
    from finegate.harness.registry import lineage_of
    from finegate.harness.system import innermost

    st, reg = store_and_registry(store, registry_uri)
    run = st.get_run(run_ref)
    lineage = {**lineage_of(run["system"]), "evaluation_runs": [run["id"]]}
    inner = innermost(run["system"])
    version = reg.register(
        name,
        fingerprint=run["fingerprint"],
        source=inner.get("adapter") or inner.get("model"),
        lineage=lineage,
        actor=resolve_actor(actor),
    )
    if as_json:
        emit_json(version.to_dict())
    else:
        click.echo(f"registered {version.ref} (fingerprint {version.fingerprint[:12]})")


@registry_group.command("list")
@click.argument("name", required=False)
@store_option
@registry_option
@json_option
def registry_list(
    name: str | None, store: str | None, registry_uri: str | None, as_json: bool
) -> None:
    _, reg = store_and_registry(store, registry_uri)
    versions = reg.versions(name)
    if as_json:
        emit_json([v.to_dict() | {"lineage": None} for v in versions])
        return
    for v in versions:
        dp = v.lineage.get("dp")
        click.echo(
            f"{v.ref}  {v.created_at[:19]}  fingerprint {v.fingerprint[:12]}  base "
            f"{v.lineage.get('base_model')}" + (f"  DP epsilon {dp['epsilon']:.2f}" if dp else "")
        )


@registry_group.command("show")
@click.argument("ref")
@store_option
@registry_option
@json_option
def registry_show(ref: str, store: str | None, registry_uri: str | None, as_json: bool) -> None:
    """A version (NAME:N, NAME@ALIAS or NAME for the latest) with lineage and approvals."""
    st, reg = store_and_registry(store, registry_uri)
    version = reg.get(ref)
    data = {
        **version.to_dict(),
        "approvals": reg.approvals(version.ref),
        "verdicts": [
            {k: v[k] for k in ("id", "created_at", "policy_id", "policy_hash", "status", "run_id")}
            for v in st.verdicts(fingerprint=version.fingerprint)
        ],
    }
    if as_json:
        emit_json(data)
        return
    click.echo(json.dumps({k: v for k, v in data.items() if k != "lineage"}, indent=2, default=str))
    lineage = {k: v for k, v in version.lineage.items() if k != "training_manifest"}
    click.echo("lineage: " + json.dumps(lineage, indent=2, default=str))


@registry_group.command("history")
@click.argument("name")
@click.option("--alias", default=None)
@store_option
@registry_option
@json_option
def registry_history(
    name: str, alias: str | None, store: str | None, registry_uri: str | None, as_json: bool
) -> None:
    """Every alias move of NAME: promotions and rollbacks, who and why."""
    _, reg = store_and_registry(store, registry_uri)
    events = reg.alias_history(name, alias)
    if as_json:
        emit_json(events)
        return
    for e in events:
        click.echo(
            f"{e['at'][:19]}  {e['action']:<8} {name}@{e['alias']} -> {e['version']} "
            f"(was {e['previous']})  by {e['actor']}: {e['reason']}"
        )


@click.command("approve")
@click.argument("ref")
@click.option("--by", "by", required=True, help="Who approves (a name the policy can require).")
@click.option("--reason", required=True)
@store_option
@registry_option
def approve_command(
    ref: str, by: str, reason: str, store: str | None, registry_uri: str | None
) -> None:
    """Record a named human approval of a model version."""
    _, reg = store_and_registry(store, registry_uri)
    reg.approve(ref, by=by, reason=reason)
    click.echo(f"approval by {by} recorded for {reg.get(ref).ref}")


@click.command("rollback")
@click.option("--model", "name", required=True)
@click.option("--alias", required=True)
@click.option("--reason", default="rollback")
@store_option
@registry_option
@actor_option
def rollback_command(
    name: str,
    alias: str,
    reason: str,
    store: str | None,
    registry_uri: str | None,
    actor: str | None,
) -> None:
    """Move an alias back to the version it had before its last promotion."""
    from finegate.harness.registry import rollback

    _, reg = store_and_registry(store, registry_uri)
    result = rollback(reg, name, alias, actor=resolve_actor(actor), reason=reason)
    click.echo(f"{result['alias']}: {result['from']} -> {result['to']}")


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit log: verify, sign, export."""


@audit_group.command("verify")
@click.option("--bundle", default=None, help="Verify an exported bundle instead of the store.")
@click.option("--public-key", default=None, help="Check the signed head with this key.")
@click.option("--signature", default=None, help="A signed head (from `audit sign`).")
@store_option
@json_option
def audit_verify(
    bundle: str | None,
    public_key: str | None,
    signature: str | None,
    store: str | None,
    as_json: bool,
) -> None:
    """Check the whole chain offline; exit 1 and name the first broken record."""
    from finegate.harness import registry as _audit

    if bundle:
        result = _audit.verify_bundle(bundle, public_key)
    else:
        chain = _audit.records(open_store(store, create=False))
        if signature:
            signed = read_json_file(signature, what="signed head")
            if not public_key or not _audit.verify_signature(signed, public_key):
                result = _audit.Verification(
                    False, len(chain), "", None, "the signature does not match the public key"
                )
            else:
                result = _audit.verify_against_head(chain, signed)
        else:
            result = _audit.verify_chain(chain)
    if as_json:
        emit_json(result.to_dict())
    elif result.ok:
        click.echo(f"audit chain intact: {result.records} records, head {result.head[:16]}")
    else:
        click.echo(f"audit chain BROKEN at record {result.broken_seq}: {result.reason}")
    sys.exit(0 if result.ok else 1)


@audit_group.command("keygen")
@click.option("--private", "private_path", required=True)
@click.option("--public", "public_path", required=True)
def audit_keygen(private_path: str, public_path: str) -> None:
    """Make an Ed25519 key pair for signing the chain's head."""
    from finegate.harness.registry import generate_key

    generate_key(private_path, public_path)
    click.echo(f"wrote {private_path} and {public_path}")


@audit_group.command("sign")
@click.option("--key", "key_path", required=True, help="Ed25519 private key (PEM).")
@click.option("--output", "-o", required=True)
@store_option
def audit_sign(key_path: str, output: str, store: str | None) -> None:
    """Sign the chain's current head; verifiable with the public key alone."""
    from finegate.harness.core import atomic_write_text
    from finegate.harness.registry import sign_head

    signed = sign_head(open_store(store, create=False), key_path)
    atomic_write_text(output, json.dumps(signed, indent=2) + "\n")
    click.echo(f"signed head {signed['seq']} ({signed['head'][:16]}) into {output}")


@audit_group.command("export")
@click.option("--output", "-o", required=True)
@click.option("--signature", default=None, help="Include this signed head.")
@store_option
def audit_export(output: str, signature: str | None, store: str | None) -> None:
    """Write the chain and the evidence it refers to as one verifiable bundle."""
    from finegate.harness.registry import export_bundle, records

    st = open_store(store, create=False)
    chain = records(st)
    run_ids = {r["payload"].get("run_id") for r in chain} - {None}
    evidence = {
        "verdicts": {v["id"]: v for v in st.verdicts()},
        "runs": {
            rid: {
                "run": st.get_run(rid),
                "metrics": {s: [m.to_dict() for m in ms] for s, ms in st.metrics(rid).items()},
            }
            for rid in sorted(run_ids)
        },
    }
    signed = read_json_file(signature, what="signed head") if signature else None
    bundle = export_bundle(st, output, signed=signed, evidence=evidence)
    click.echo(
        f"wrote {output}: {len(bundle['records'])} records, "
        f"{'intact' if bundle['verification']['ok'] else 'BROKEN'}"
    )


@audit_group.command("show")
@click.option("--subject", default=None)
@store_option
@json_option
def audit_show(subject: str | None, store: str | None, as_json: bool) -> None:
    from finegate.harness.registry import records

    chain = records(open_store(store, create=False), subject)
    if as_json:
        emit_json(chain)
        return
    for r in chain:
        click.echo(
            f"{r['seq']:>5} {r['created_at'][:19]} {r['action']:<9} {r['subject']} "
            f"by {r['actor']}  {r['hash'][:12]}"
        )


COMMANDS = [registry_group, approve_command, rollback_command, audit_group]
