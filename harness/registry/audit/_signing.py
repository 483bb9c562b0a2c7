"""Signing the audit log's head with an Ed25519 key, and checking a chain against
a signed head: records cut off the end since the signature are detected too."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, atomic_write_text
from finegate.harness.registry.audit._log import Verification, head, verify_chain
from finegate.harness.store import Store


def generate_key(private_path: str | Path, public_path: str | Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    atomic_write_text(
        private_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )
    atomic_write_text(
        public_path,
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    )


def _head_message(seq: int, head_hash: str) -> bytes:
    return f"finegate-audit-head:{seq}:{head_hash}".encode()


def sign_head(store: Store, private_key: str | Path) -> dict[str, Any]:
    """A signature over the chain's current head (sequence number and hash)."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(Path(private_key).read_bytes(), password=None)
    except (OSError, ValueError) as e:
        raise InputError(f"{private_key}: not an Ed25519 private key in PEM ({e})") from None
    seq, head_hash = head(store)
    signature = key.sign(_head_message(seq, head_hash))  # type: ignore[union-attr, call-arg]
    return {
        "seq": seq,
        "head": head_hash,
        "algorithm": "ed25519",
        "signature": base64.b64encode(signature).decode(),
    }


def verify_signature(signed: dict[str, Any], public_key: str | Path) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_public_key(Path(public_key).read_bytes())
    except (OSError, ValueError) as e:
        raise InputError(f"{public_key}: not an Ed25519 public key in PEM ({e})") from None
    try:
        key.verify(
            base64.b64decode(signed["signature"]),  # type: ignore[union-attr, call-arg]
            _head_message(int(signed["seq"]), str(signed["head"])),
        )
    except (InvalidSignature, KeyError, ValueError):
        return False
    return True


def verify_against_head(chain: list[dict[str, Any]], signed: dict[str, Any]) -> Verification:
    """The chain verifies and still contains the signed head at its place: records
    cut off the end since the signature are detected too."""
    result = verify_chain(chain)
    if not result.ok:
        return result
    seq = int(signed["seq"])
    if seq > len(chain):
        return Verification(
            False,
            len(chain),
            result.head,
            len(chain) + 1,
            f"the signed head is record {seq}, but the chain ends at "
            f"{len(chain)}: records were cut off the end",
        )
    if seq and chain[seq - 1]["hash"] != signed["head"]:
        return Verification(
            False, len(chain), result.head, seq, f"record {seq} is not the record that was signed"
        )
    return result
