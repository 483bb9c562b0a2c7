"""``finegate keys``, ``finegate trust`` and ``finegate audit``: identities, the
pinned root of trust, and the audit log they sign.

The log is a transparency log: ``audit checkpoint`` signs its head (a C2SP note)
into a folder kept outside the store, ``audit verify --checkpoint`` proves the
log still extends one, ``audit prove`` gives a record's inclusion proof and
``audit verify-proof`` checks one offline, with the public key alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from finegate.harness.cli._options import (
    checkpoints_option,
    emit_json,
    json_option,
    key_option,
    open_store,
    store_option,
    trust_root_option,
)
from finegate.harness.core import InputError, Problem, atomic_write_text, read_json_file


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


public_key_option = click.option(
    "--public-key",
    "public_keys",
    multiple=True,
    help="A public key (NAME.pub.json) a checkpoint may be signed by; repeatable.",
)


def _keys(store: Any, trust_root: str | None, public_keys: tuple[str, ...]) -> list[Any]:
    """The keys a checkpoint may be signed by: the trust root's and its keyring's,
    and the public key files named."""
    from finegate.harness.registry import note_keys
    from finegate.harness.registry.trust import load_trust_root

    if not trust_root and not public_keys:
        raise InputError(
            Problem(
                "a checkpoint counts only when a key the reader trusts signed it",
                field="--trust-root",
            ),
            hint="give --trust-root FILE (or FINEGATE_TRUST_ROOT) or --public-key NAME.pub.json",
        )
    trust = load_trust_root(trust_root) if trust_root else None
    return note_keys(store, trust, public_keys)


def _report(label: str, result: Any, as_json: bool, out: list[dict[str, Any]]) -> None:
    out.append({"against": label, **result.to_dict()})
    if as_json:
        return
    if result.ok:
        click.echo(f"ok      {label}: {result.records} records, root {result.head[:16]}")
    else:
        where = f" at record {result.broken_seq}" if result.broken_seq else ""
        click.echo(f"BROKEN  {label}{where}: {result.reason}")


@click.group("audit")
def audit_group() -> None:
    """The audit log, a transparency log: verify, checkpoint, prove, export."""


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    help="A signed checkpoint the log must still extend; repeatable.",
)
@checkpoints_option
@click.option(
    "--against",
    default=None,
    help="An export bundle of the older log: names the first record that differs.",
)
@click.option("--bundle", default=None, help="Verify an exported bundle instead of the store.")
@public_key_option
@trust_root_option
@store_option
@json_option
def audit_verify(
    checkpoint_files: tuple[str, ...],
    checkpoints: str | None,
    against: str | None,
    bundle: str | None,
    public_keys: tuple[str, ...],
    trust_root: str | None,
    store: str | None,
    as_json: bool,
) -> None:
    """Check the log (or a bundle) offline; exit 1 and name the first record that
    does not fit. With checkpoints, prove the log extends each one: a rewrite,
    re-hash, reorder, deletion or truncation since fails."""
    from finegate.harness import registry as reg
    from finegate.harness.registry import audit

    results: list[dict[str, Any]] = []
    ok = True
    if bundle:
        ok = _verify_bundle(bundle, trust_root, public_keys, as_json, results)
    else:
        st = open_store(store, create=False)
        chain = reg.records(st)
        whole = reg.verify_chain(chain)
        _report("the hash chain", whole, as_json, results)
        ok = whole.ok
        wanted = checkpoint_files or checkpoints
        keys = _keys(st, trust_root, public_keys) if wanted else []
        old = audit.read_bundle(against)["records"] if against else None
        origin = audit.log_origin(st)
        for path in checkpoint_files:
            text = Path(path).read_text("utf-8") if Path(path).is_file() else ""
            checkpoint, _ = audit.read_checkpoint(text, keys, where=path)
            result = audit.verify_extends(chain, origin, checkpoint, old=old)
            _report(path, result, as_json, results)
            ok = ok and result.ok
        if checkpoints:
            for held in reg.check_held(st, checkpoints, keys, old=old):
                if held.result is None:
                    results.append({"against": str(held.path), "skipped": held.problem})
                    if not as_json:
                        click.echo(f"skipped {held.path}: {held.problem}")
                    continue
                _report(str(held.path), held.result, as_json, results)
                ok = ok and held.result.ok
    if as_json:
        emit_json({"ok": ok, "checks": results})
    sys.exit(0 if ok else 1)


def _verify_bundle(
    path: str,
    trust_root: str | None,
    public_keys: tuple[str, ...],
    as_json: bool,
    results: list[dict[str, Any]],
) -> bool:
    from finegate.harness.registry import audit, check_bundle_evidence, note_keys
    from finegate.harness.registry.trust import load_trust_root, verified_rules

    bundle = audit.read_bundle(path)
    trust = load_trust_root(trust_root) if trust_root else None
    keys = None
    if trust is not None or public_keys:
        keys = note_keys(None, trust, public_keys)
        if trust is not None:  # the keyring of the bundled rules may sign checkpoints too
            versions = [(int(r["version"]), r["envelope"]) for r in bundle["evidence"]["rules"]]
            rules = verified_rules(versions, trust, where="in the bundle")
            keys += [audit.note_key(k) for r in rules for k in r.keyring.keys(roles=None)]
    result = audit.verify_bundle_log(bundle, keys, where=path)
    _report(f"{path} (log)", result, as_json, results)
    problems = check_bundle_evidence(bundle, trust)
    results.append({"against": f"{path} (evidence)", "ok": not problems, "problems": problems})
    if not as_json:
        if problems:
            for p in problems:
                click.echo(f"BROKEN  {path} (evidence): {p}")
        else:
            checked = "signatures and digests" if trust is not None else "digests only"
            click.echo(f"ok      {path} (evidence): {checked}")
    return result.ok and not problems


@audit_group.command("checkpoint")
@key_option(required=True, help="The private key that signs the checkpoint.")
@checkpoints_option
@click.option("--output", "-o", default=None, help="Also write the checkpoint to this file.")
@store_option
def audit_checkpoint(
    key_path: str, checkpoints: str | None, output: str | None, store: str | None
) -> None:
    """Sign the log's current head (size and Merkle root, a C2SP checkpoint) and
    keep it in the checkpoint folder, outside the store."""
    from finegate.harness.registry import checkpoint_folder, keep_checkpoint
    from finegate.harness.registry.audit import note_key
    from finegate.harness.registry.trust import load_signer

    signer = load_signer(key_path)
    st = open_store(store, create=False)
    kept = keep_checkpoint(st, signer, checkpoint_folder(checkpoints))
    if output:
        atomic_write_text(output, kept.read_text("utf-8"))
    click.echo(kept.read_text("utf-8"), nl=False)
    click.echo(f"kept in {kept}; verifier key: {note_key(signer.public_key).verifier}")


@audit_group.command("prove")
@click.argument("seq", type=click.IntRange(1))
@click.option("--checkpoint", "checkpoint_file", default=None, help="The checkpoint to prove in.")
@checkpoints_option
@click.option("--output", "-o", default=None, help="Write the proof here (JSON).")
@store_option
def audit_prove(
    seq: int,
    checkpoint_file: str | None,
    checkpoints: str | None,
    output: str | None,
    store: str | None,
) -> None:
    """The inclusion proof of record SEQ in a kept checkpoint (the newest in the
    folder unless --checkpoint names one): verifiable offline."""
    from finegate.harness.registry import audit, checkpoint_folder

    st = open_store(store, create=False)
    if checkpoint_file is None:
        held = audit.held_checkpoints(checkpoint_folder(checkpoints))
        if not held:
            raise InputError(
                Problem("no checkpoint kept yet", field="--checkpoints"),
                hint="`finegate audit checkpoint --key K` keeps one",
            )
        checkpoint_file = str(held[-1])
    note = Path(checkpoint_file).read_text("utf-8")
    checkpoint = audit.parse_checkpoint(note[: note.rfind("\n\n") + 1])
    proof = audit.inclusion(audit.records(st), seq, note, checkpoint)
    text = json.dumps(proof, indent=2, sort_keys=True, default=str) + "\n"
    if output:
        atomic_write_text(output, text)
        click.echo(f"wrote {output}: record {seq} in the log of {checkpoint.size} records")
    else:
        click.echo(text, nl=False)


@audit_group.command("verify-proof")
@click.argument("proof_file")
@public_key_option
@trust_root_option
def audit_verify_proof(
    proof_file: str, public_keys: tuple[str, ...], trust_root: str | None
) -> None:
    """Check an inclusion proof offline: the checkpoint is signed by a key you
    trust and the record hashes, along the audit path, to its root."""
    from finegate.harness.registry import audit

    proof = read_json_file(proof_file, what="inclusion proof")
    keys = _keys(None, trust_root, public_keys)
    try:
        checkpoint, record = audit.verify_inclusion_proof(proof, keys, where=proof_file)
    except InputError as e:
        click.echo(f"NOT PROVEN: {e}", err=True)
        sys.exit(1)
    click.echo(
        f"proven: record {record['seq']} ({record['action']} {record['subject']} by "
        f"{record['actor']}) is in {checkpoint.origin} of {checkpoint.size} records"
    )


@audit_group.command("export")
@click.option("--output", "-o", required=True)
@key_option(required=False, help="Sign a checkpoint of the exported log into the bundle.")
@store_option
def audit_export(output: str, key_path: str | None, store: str | None) -> None:
    """Write the log, a signed checkpoint of it and the evidence it refers to
    (statements, rules, verdicts, runs with their records) as one bundle."""
    from finegate.harness.registry import audit, bundle_evidence, checkpoint_note
    from finegate.harness.registry.trust import load_signer

    st = open_store(store, create=False)
    note = checkpoint_note(st, load_signer(key_path)) if key_path else None
    bundle = audit.export_bundle(
        st, output, checkpoint=note, evidence=bundle_evidence(st, audit.records(st))
    )
    click.echo(
        f"wrote {output}: {len(bundle['records'])} records, "
        f"{'intact' if bundle['verification']['ok'] else 'BROKEN'}"
        f"{', with a signed checkpoint' if note else ''}"
    )


@audit_group.command("show")
@click.option("--subject", default=None)
@store_option
@json_option
def audit_show(subject: str | None, store: str | None, as_json: bool) -> None:
    """The records, oldest first (of one subject, if named)."""
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


COMMANDS = [keys_group, trust_group, audit_group]
