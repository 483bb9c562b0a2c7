"""The root of trust: root public keys and how many of them must sign, pinned in
a file outside the store.

The file lives where the team reviews changes (its repository, its CI
configuration) and every command that decides a release is pointed at it
(``--trust-root`` or ``FINEGATE_TRUST_ROOT``). Whoever can write the store
cannot write this file, so the release rules the root signs cannot be changed
by writing the store. Rotating a root key is an edit of this file, reviewed
like any other; rules signed only by a removed key stop verifying.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, Problem, atomic_write_text, read_json_file
from finegate.harness.registry.trust._keys import PublicKey

TRUST_ROOT_FORMAT = "finegate-trust-root/1"
TRUST_ROOT_ENV = "FINEGATE_TRUST_ROOT"


@dataclass(frozen=True)
class TrustRoot:
    keys: tuple[PublicKey, ...]
    threshold: int
    path: str

    def key_objects(self) -> list[Any]:
        return [k.key for k in self.keys]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": TRUST_ROOT_FORMAT,
            "threshold": self.threshold,
            "keys": [k.to_dict() for k in self.keys],
        }


def write_trust_root(path: str | Path, keys: list[PublicKey], threshold: int) -> TrustRoot:
    if not keys:
        raise InputError(Problem("a trust root needs at least one root key", field="--key"))
    if len({k.keyid for k in keys}) != len(keys):
        raise InputError(Problem("the same root key is named twice", field="--key"))
    if not 1 <= threshold <= len(keys):
        raise InputError(
            Problem(f"threshold {threshold} is not between 1 and {len(keys)}", field="--threshold")
        )
    root = TrustRoot(tuple(keys), threshold, str(path))
    atomic_write_text(path, json.dumps(root.to_dict(), indent=2, sort_keys=True) + "\n")
    return root


def load_trust_root(path: str | Path | None = None) -> TrustRoot:
    """The pinned trust root: ``path``, else ``$FINEGATE_TRUST_ROOT``."""
    chosen = str(path) if path else os.environ.get(TRUST_ROOT_ENV)
    if not chosen:
        raise InputError(
            Problem(
                "no trust root: the release rules are checked against one", field="--trust-root"
            ),
            hint=f"give --trust-root FILE or set {TRUST_ROOT_ENV} "
            "(`finegate trust init` writes one)",
        )
    data = read_json_file(chosen, what="trust root")
    if not isinstance(data, dict) or data.get("format") != TRUST_ROOT_FORMAT:
        raise InputError(
            Problem(f"not a trust root (format is not {TRUST_ROOT_FORMAT!r})", file=chosen)
        )
    keys = tuple(
        PublicKey.from_dict(k, where=f"{chosen}: keys[{i}]")
        for i, k in enumerate(data.get("keys") or [])
    )
    threshold = data.get("threshold")
    if not keys or not isinstance(threshold, int) or not 1 <= threshold <= len(keys):
        raise InputError(
            Problem(
                "a trust root needs keys and a threshold between 1 and their number", file=chosen
            )
        )
    return TrustRoot(keys, threshold, chosen)
