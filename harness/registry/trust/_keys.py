"""Ed25519 keys for people and CI signers, kept outside the store.

``create_key`` writes ``NAME.key`` (the private key, PKCS#8 PEM, mode 0600) and
``NAME.pub.json`` (the public key as securesystemslib writes it, with its key
id). A key means nothing until a keyring signed by the root names it: the name
in a file is a label, the keyring says whose key it is and which roles it has.
A private key file that others may read is refused, as ssh refuses one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finegate.harness.core import (
    InputError,
    Problem,
    atomic_write_text,
    check_private,
    read_json_file,
)

PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub.json"


@dataclass(frozen=True)
class PublicKey:
    """A public key and the label it was created with."""

    name: str
    key: Any  # securesystemslib's SSlibKey

    @property
    def keyid(self) -> str:
        return str(self.key.keyid)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "keyid": self.keyid, "key": self.key.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "public key") -> PublicKey:
        from securesystemslib.signer import SSlibKey

        try:
            key = SSlibKey.from_dict(data["keyid"], dict(data["key"]))
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(Problem(f"not a public key ({e})", file=where)) from None
        if key.keytype != "ed25519":
            raise InputError(Problem(f"{key.keytype} key: finegate signs with ed25519", file=where))
        return cls(str(data.get("name", "")), key)


def _keyid(public: Any) -> Any:
    from securesystemslib.signer import SSlibKey

    return SSlibKey.from_crypto(public)


def create_key(folder: str | Path, name: str) -> tuple[Path, Path]:
    """A new key pair in ``folder``: ``NAME.key`` (0600) and ``NAME.pub.json``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not name or "/" in name or name.startswith("."):
        raise InputError(Problem(f"not a key name: {name!r}", field="name"))
    out = Path(folder)
    private_path, public_path = out / f"{name}{PRIVATE_SUFFIX}", out / f"{name}{PUBLIC_SUFFIX}"
    if private_path.exists():
        raise InputError(
            Problem("a key of this name exists; it was left as it is", file=str(private_path))
        )
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(pem)
    public = PublicKey(name, _keyid(private.public_key()))
    atomic_write_text(public_path, json.dumps(public.to_dict(), indent=2, sort_keys=True) + "\n")
    return private_path, public_path


def load_signer(path: str | Path) -> Any:
    """A securesystemslib signer from a private key file (``NAME.key``)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from securesystemslib.signer import CryptoSigner

    p = Path(path)
    try:
        check_private(p, "the private key")
    except FileNotFoundError:
        raise InputError(Problem("private key not found", file=str(p))) from None
    try:
        private = serialization.load_pem_private_key(p.read_bytes(), password=None)
    except ValueError as e:
        raise InputError(Problem(f"not a private key in PEM ({e})", file=str(p))) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise InputError(Problem("not an Ed25519 private key", file=str(p)))
    return CryptoSigner(private, _keyid(private.public_key()))


def load_public_key(path: str | Path) -> PublicKey:
    """A public key file (``NAME.pub.json``)."""
    data = read_json_file(path, what="public key")
    if not isinstance(data, dict):
        raise InputError(Problem("a public key file is a JSON object", file=str(path)))
    return PublicKey.from_dict(data, where=str(path))
