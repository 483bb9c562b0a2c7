"""Per-example digests in a dataset manifest, keyed so that only the data's
owner can test membership.

A dataset manifest travels with the adapter it trained. Plain SHA-256 digests
of every example would let anyone holding the adapter test whether a guessed
record (a customer's ticket, a patient's note) was trained on, which is the very
question differential privacy is there to leave unanswered. So each digest is
an HMAC-SHA256 under a secret kept in ``$FINEGATE_HOME/secrets`` (mode 0600),
never in the adapter folder: the same data gives the same digests on the
owner's machine (re-runs, deduplication checks, a data subject's request), and
nothing to anyone else.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path

from finegate.harness.core import InputError, Message, Problem, canonical_json, check_private, home

KEY_FILE = "example-digest.key"
ALGORITHM = "hmac-sha256"


def key_path() -> Path:
    return home() / "secrets" / KEY_FILE


def digest_key() -> bytes:
    """The owner's secret, created (mode 0600) on first use. It is written whole
    to a private temporary file and linked into place, so a second process never
    reads a half-written key; a link or a short key is refused."""
    path = key_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists() and not path.is_symlink():
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
            with contextlib.suppress(FileExistsError):  # another process got there first
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    if path.is_symlink() or not path.is_file():
        raise InputError(
            Problem("the example-digest key is not a regular file", file=str(path)),
            hint=f"remove {path}; a new key is made on next use",
        )
    check_private(path, "the example-digest key")
    try:
        key = bytes.fromhex(path.read_text("utf-8").strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise InputError(
            Problem("the example-digest key is not 32 bytes of hex", file=str(path)),
            hint="restore it from your backup (digests made with it need it)",
        )
    return key


def key_id(key: bytes) -> str:
    """Which secret keyed a manifest's digests (not the secret: a hash of it)."""
    return hashlib.sha256(b"finegate example-digest key:" + key).hexdigest()[:16]


def example_digest(messages: Sequence[Message], key: bytes) -> str:
    content = canonical_json([[m.role, m.content] for m in messages])
    return hmac.new(key, content.encode("utf-8"), hashlib.sha256).hexdigest()
