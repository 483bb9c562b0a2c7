"""Registry commands: ``finegate registry|approve|rollback``.

Every action that changes the registry appends an audit record in the same
transaction; the acts a release stands on (registration, approval, rollback)
are signed with the actor's key. ``finegate promote`` re-checks verdicts with
the policy engine, so the gates package adds it.
"""

from __future__ import annotations

import json
import sys

import click

from finegate.harness.cli._options import (
    actor_option,
    checkpoints_option,
    emit_json,
    json_option,
    key_option,
    registry_option,
    resolve_actor,
    store_and_registry,
    store_option,
    trust_root_option,
)


@click.group("registry")
def registry_group() -> None:
    """Model versions with lineage and aliases, checked against the signed record."""


@registry_group.command("register")
@click.argument("name")
@click.option(
    "--run",
    "run_ref",
    required=True,
    help="The evaluation run of the system to register (its fingerprint and lineage).",
)
@key_option(
    required=False,
    help="Sign the registration with this private key: only a signed registration can be promoted.",
)
@store_option
@registry_option
@actor_option
@json_option
def registry_register(
    name: str,
    run_ref: str,
    key_path: str | None,
    store: str | None,
    registry_uri: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Register the system an evaluation run evaluated as a new version of NAME."""
    from finegate.harness.registry import register_run
    from finegate.harness.registry.trust import load_signer

    signer = load_signer(key_path) if key_path else None
    st, reg = store_and_registry(store, registry_uri)
    version, statement = register_run(
        reg, st, name, st.get_run(run_ref), actor=resolve_actor(actor), signer=signer
    )
    if as_json:
        emit_json({**version.to_dict(), "statement": statement})
    else:
        signed = f", signed registration {statement[:12]}" if statement else ", unsigned"
        click.echo(f"registered {version.ref} (fingerprint {version.fingerprint[:12]}{signed})")


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
    """A version (NAME:N, NAME@ALIAS or NAME for the latest) with lineage, verdicts and
    the signed statements about it (`registry verify` and `promote` check them)."""
    from finegate.harness.registry import envelopes
    from finegate.harness.registry.trust import KINDS

    st, reg = store_and_registry(store, registry_uri)
    version = reg.get(ref)
    data = {
        **version.to_dict(),
        "statements": [
            {"kind": kind, "id": sid}
            for kind in KINDS
            for sid, _ in envelopes(st, kind, subject=version.fingerprint)
        ],
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
@key_option(required=True, help="The approver's private key: the keyring says whose it is.")
@click.option("--reason", required=True)
@trust_root_option
@store_option
@registry_option
def approve_command(
    ref: str,
    key_path: str,
    reason: str,
    trust_root: str | None,
    store: str | None,
    registry_uri: str | None,
) -> None:
    """Sign an approval of a model version. Who approves, and in which roles, is
    what the release rules' keyring says of the key; the person who registered or
    trained the version may not approve it."""
    from finegate.harness.core import InputError
    from finegate.harness.registry import registration_of, sign_approval
    from finegate.harness.registry.trust import current_rules, load_signer, load_trust_root

    signer = load_signer(key_path)
    st, reg = store_and_registry(store, registry_uri)
    version = reg.get(ref)
    rules = current_rules(st, load_trust_root(trust_root))
    if rules is None:
        raise InputError("no release rules: nothing says whose key this is")
    registration, why = registration_of(st, rules, version.name, version.version)
    if registration is None:
        raise InputError([*why, f"{version.ref} cannot be approved before it is registered"])
    sign_approval(st, rules.keyring, registration, signer, reason, actor=resolve_actor(None))
    person = rules.keyring.person_of(signer.public_key.keyid)
    roles = ", ".join(rules.keyring.roles_of(person)) or "no role"
    click.echo(f"approval of {version.ref} signed by {person} ({roles})")


@click.command("rollback")
@click.option("--model", "name", required=True)
@click.option("--alias", required=True)
@click.option("--reason", default="rollback")
@key_option(required=True, help="The private key of someone the rules let move this alias.")
@trust_root_option
@checkpoints_option
@store_option
@registry_option
def rollback_command(
    name: str,
    alias: str,
    reason: str,
    key_path: str,
    trust_root: str | None,
    checkpoints: str | None,
    store: str | None,
    registry_uri: str | None,
) -> None:
    """Move an alias back to the version its last signed move replaced."""
    from finegate.harness.registry import PromotionRefused, checkpoint_folder, rollback
    from finegate.harness.registry.trust import load_signer, load_trust_root

    signer = load_signer(key_path)
    folder = checkpoint_folder(checkpoints)
    st, reg = store_and_registry(store, registry_uri)
    try:
        result = rollback(
            reg,
            st,
            name,
            alias,
            trust=load_trust_root(trust_root),
            signer=signer,
            checkpoints=folder,
            reason=reason,
        )
    except PromotionRefused as e:
        click.echo(f"finegate: refused: {e}", err=True)
        sys.exit(1)
    click.echo(f"{result['alias']}: {result['from']} -> {result['to']}")
    click.echo(
        f"audit log checked against {result['checkpoints_checked']} kept checkpoint(s); "
        f"new checkpoint: {result['checkpoint']}"
    )


@registry_group.command("verify")
@click.option("--repair", is_flag=True, help="Complete signed moves the backend never made.")
@trust_root_option
@store_option
@registry_option
@json_option
def registry_verify(
    repair: bool,
    trust_root: str | None,
    store: str | None,
    registry_uri: str | None,
    as_json: bool,
) -> None:
    """Compare the registry's aliases and versions with what was signed; exit 1 on
    an alias moved, or a version changed, outside finegate."""
    from finegate.harness.registry import verify_registry
    from finegate.harness.registry.trust import load_trust_root

    st, reg = store_and_registry(store, registry_uri)
    findings = verify_registry(
        reg, st, load_trust_root(trust_root), repair=repair, actor=resolve_actor(None)
    )
    if as_json:
        emit_json([{**f.__dict__} for f in findings])
    for f in findings if not as_json else []:
        mark = "repaired" if f.repaired else "FOUND"
        click.echo(f"{mark}  {f.subject}: {f.problem}")
    if not findings and not as_json:
        click.echo("the registry agrees with the signed record")
    sys.exit(1 if any(not f.repaired for f in findings) else 0)


COMMANDS = [registry_group, approve_command, rollback_command]
