"""Signed checkpoints of the audit log, in the C2SP signed-note format.

A checkpoint is three lines (the log's origin, its size, its root hash in
base64), then a blank line and one signature line per signer: the format
Sigstore's Rekor and Go's checksum database publish, so any C2SP note verifier
(Go's ``golang.org/x/mod/sumdb/note`` among them) checks finegate's with the
verifier key finegate prints. A checkpoint is worth something because it is
held outside the store: whoever can rewrite the database cannot rewrite every
copy of a checkpoint already written to a repository or an artifact store.

Key names are ``finegate/`` and the first 16 hex digits of the key's
securesystemslib key id, so a note names its signer without trusting a label.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from finegate.harness.core import FinegateError

EM_DASH = "\u2014"
ED25519 = b"\x01"


class NoteError(FinegateError):
    """A checkpoint that is malformed, or not signed by a key the reader trusts."""


class UnknownSigner(NoteError):
    """A well-formed note no key the reader trusts has signed."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


@dataclass(frozen=True)
class NoteKey:
    """A public key as a note verifier knows it: name, 4-byte id, raw key."""

    name: str
    key_id: bytes
    public: bytes

    @property
    def verifier(self) -> str:
        """The key in Go's verifier-key form: ``name+hexid+base64(0x01 || key)``."""
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(ED25519 + self.public).decode()}"


def note_key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def note_key(public_key: Any) -> NoteKey:
    """The note identity of a securesystemslib Ed25519 key."""
    public = bytes.fromhex(public_key.keyval["public"])
    name = f"finegate/{public_key.keyid[:16]}"
    return NoteKey(name, note_key_id(name, public), public)


def sign_note(text: str, sign: Callable[[bytes], bytes], key: NoteKey) -> str:
    """``text`` signed by ``sign``, a raw Ed25519 signature over the bytes given
    (a securesystemslib signer's, or cryptography's ``private_key.sign``)."""
    _check_text(text)
    signature = sign(text.encode())
    line = base64.b64encode(key.key_id + signature).decode()
    return f"{text}\n{EM_DASH} {key.name} {line}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n") or any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note's text ends in a newline and holds no other control characters")


def open_note(note: str, known: list[NoteKey]) -> tuple[str, list[NoteKey]]:
    """The note's text and the known keys whose signatures verify on it.

    Signatures by unknown keys are ignored, as the format requires; one by a
    known key that does not verify rejects the whole note, and so does a note
    no known key signed.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("not a signed note: no blank line before the signatures")
    text, lines = note[: cut + 1], note[cut + 2 :].splitlines()
    _check_text(text)
    by_id = {(k.name, k.key_id): k for k in known}
    verified: list[NoteKey] = []
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != EM_DASH:
            raise NoteError(f"not a signature line: {line[:60]!r}")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            raise NoteError(f"a signature that is not base64: {line[:60]!r}") from None
        key = by_id.get((parts[1], blob[:4]))
        if key is None:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key.public).verify(blob[4:], text.encode())
        except InvalidSignature:
            raise NoteError(f"the signature of {key.name} does not verify") from None
        verified.append(key)
    if not verified:
        raise UnknownSigner("signed by no key the reader trusts")
    return text, verified


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint's text is three lines: origin, size, root hash")
    origin, size, root = lines[0], lines[1], lines[2]
    if not origin:
        raise NoteError("a checkpoint names its log's origin on its first line")
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise NoteError(f"the tree size {size!r} is not a decimal number")
    try:
        digest = base64.b64decode(root, validate=True)
    except ValueError:
        digest = b""
    if len(digest) != 32:
        raise NoteError("the root hash is not 32 bytes in base64")
    return Checkpoint(origin, int(size), digest)
