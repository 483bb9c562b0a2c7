"""Checkpoints of the audit log kept outside the store, and the evidence an
audit bundle carries.

Who this holds against: someone with write access to the database (a CI job
author, an operator) who rewrites, reorders, truncates or empties the log.
Every promotion and rollback first checks that the log extends every signed
checkpoint in the checkpoint folder, and then writes a new one there, signed
by the person who acted; the pipeline writes one after each run. The folder is
the user's to keep elsewhere (a repository, an artifact store): the attacker
would have to rewrite every copy of it too, and sign the new ones with a key of
the keyring.

Which keys a checkpoint may be signed by: the trust root's and the keyring's
of the current release rules (both checked against the pinned trust root), or
public key files the reader names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finegate.harness.core import FinegateError, InputError, Problem
from finegate.harness.registry.audit import (
    NoteKey,
    UnknownSigner,
    Verification,
    checkpoint_file,
    held_checkpoints,
    log_origin,
    note_key,
    read_checkpoint,
    records,
    signed_checkpoint,
    verify_chain,
    verify_extends,
)
from finegate.harness.registry.trust import (
    ReleaseRules,
    RulesError,
    TrustRoot,
    current_rules,
    load_public_key,
    rules_envelopes,
    verified_rules,
)
from finegate.harness.store import Store

CHECKPOINTS_ENV = "FINEGATE_CHECKPOINTS"


class LogRewritten(FinegateError):
    """The audit log no longer holds what a signed checkpoint of it saw."""


def checkpoint_folder(folder: str | Path | None) -> Path:
    """The folder signed checkpoints are kept in: ``folder``, else
    ``$FINEGATE_CHECKPOINTS``; there is no default, as a folder inside the store's
    reach would protect nothing."""
    chosen = str(folder) if folder else os.environ.get(CHECKPOINTS_ENV)
    if not chosen:
        raise InputError(
            Problem(
                "no checkpoint folder: the audit log's signed checkpoints are kept outside "
                "the store, and checked before any alias moves",
                field="--checkpoints",
            ),
            hint=f"give --checkpoints DIR or set {CHECKPOINTS_ENV} (a folder in a repository "
            "or an artifact store that the database's writers cannot rewrite)",
        )
    return Path(chosen)


def note_keys(
    store: Store | None, trust: TrustRoot | None, public_files: Sequence[str] = ()
) -> list[NoteKey]:
    """The keys a checkpoint may be signed by."""
    keys: list[Any] = [load_public_key(f).key for f in public_files]
    if trust is not None:
        keys += trust.key_objects()
        rules = _keyring_rules(store, trust) if store is not None else None
        if rules is not None:
            keys += rules.keyring.keys()
    unique = {k.keyid: k for k in keys}
    return [note_key(k) for k in unique.values()]


def _keyring_rules(store: Store, trust: TrustRoot) -> ReleaseRules | None:
    """The rules whose keyring may sign checkpoints: the current ones, or, where
    the audit log no longer agrees with them (an emptied or rewritten log), the
    newest version the root signed, so the log is still checked and its damage
    reported as such."""
    try:
        return current_rules(store, trust)
    except RulesError:
        try:
            chain = verified_rules(rules_envelopes(store), trust, where=f"in {store.location}")
        except RulesError:
            return None
        return chain[-1] if chain else None


def checkpoint_note(store: Store, signer: Any) -> str:
    """The log's current head, signed with a securesystemslib signer (whose Ed25519
    signature is the raw one a C2SP note carries)."""
    key = note_key(signer.public_key)
    return signed_checkpoint(store, lambda data: bytes.fromhex(signer.sign(data).signature), key)


def keep_checkpoint(store: Store, signer: Any, folder: str | Path) -> Path:
    """Sign the log's current head and keep it in ``folder``."""
    return checkpoint_file(folder, checkpoint_note(store, signer))


@dataclass(frozen=True)
class Held:
    """One kept checkpoint and what checking the log against it found; ``result``
    is None where no trusted key signed it (a key since removed from the keyring,
    or a stray file), which is reported and does not count either way."""

    path: Path
    result: Verification | None
    problem: str | None = None


def check_held(
    store: Store,
    folder: str | Path,
    keys: list[NoteKey],
    *,
    old: Sequence[dict[str, Any]] | None = None,
) -> list[Held]:
    """The log against every checkpoint in the folder, oldest first.

    A folder holds one log's checkpoints: one of another origin fails, or
    changing the store's origin would make every checkpoint look like another
    log's, and so unchecked.
    """
    chain = records(store)
    origin = log_origin(store)
    out = []
    for path in held_checkpoints(folder):
        try:
            checkpoint, _ = read_checkpoint(path.read_text("utf-8"), keys, where=str(path))
        except InputError as e:
            if not isinstance(e.__cause__, UnknownSigner):
                raise
            out.append(Held(path, None, "signed by no trusted key; not counted"))
            continue
        out.append(Held(path, verify_extends(chain, origin, checkpoint, old=old)))
    return out


def require_extends(store: Store, folder: str | Path, keys: list[NoteKey]) -> int:
    """Refuse to act on a log that does not extend every held checkpoint; the
    number of checkpoints checked."""
    whole = verify_chain(records(store))
    if not whole.ok:
        raise LogRewritten(f"the audit log is broken at record {whole.broken_seq}: {whole.reason}")
    held = [h for h in check_held(store, folder, keys) if h.result is not None]
    for h in held:
        assert h.result is not None
        if not h.result.ok:
            raise LogRewritten(
                f"the audit log does not extend the checkpoint {h.path}: {h.result.reason}"
            )
    return len(held)
