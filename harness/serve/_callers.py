"""Who is calling: callers named by a token, so feedback comes only from the caller
a request was answered for, and no one steers a canary by flooding it.

The tokens file maps each caller's name to the SHA-256 of its token, so the file
holds no secret worth stealing; ``new_token`` makes a token, writes its digest,
and hands the token out once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import time
from pathlib import Path

import yaml

from finegate.harness.core import InputError, Problem, atomic_write_text

log = logging.getLogger("finegate.serve")

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class CallerTokens:
    """The callers a server knows, by the digests of their tokens."""

    def __init__(self, digests: dict[str, str], source: str | None = None):
        self.digests = dict(digests)
        self.source = source
        self._seen = self._stamp()
        self._checked = time.monotonic()

    def _stamp(self) -> tuple[int, int] | None:
        if self.source is None:
            return None
        try:
            st = os.stat(self.source)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _reload_if_changed(self) -> None:
        """A caller added or revoked with ``serve-token`` counts within a second,
        without a restart; a file that no longer parses leaves the callers as they were."""
        if self.source is None or time.monotonic() - self._checked < 1.0:
            return
        self._checked = time.monotonic()
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return
        try:
            self.digests = CallerTokens.load(self.source).digests
        except InputError as e:
            log.warning("%s", e)
        self._seen = stamp

    @classmethod
    def load(cls, path: str | Path) -> CallerTokens:
        """Every problem of the file at once, naming the caller."""
        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text("utf-8")) or {}
        except FileNotFoundError:
            raise InputError(Problem("file not found", file=str(p))) from None
        except yaml.YAMLError as e:
            raise InputError(Problem(f"not YAML: {e}", file=str(p))) from None
        if not isinstance(data, dict):
            raise InputError(
                Problem("expected a mapping of caller name to token digest", file=str(p))
            )
        problems = [
            Problem(
                "expected the SHA-256 of the caller's token (64 hex digits)",
                file=str(p),
                field=str(name),
            )
            for name, digest in data.items()
            if not isinstance(digest, str) or not _DIGEST.match(digest)
        ]
        if problems:
            raise InputError(problems, hint="`finegate serve-token NAME --tokens FILE` adds one")
        return cls({str(k): str(v) for k, v in data.items()}, str(p))

    def caller_of(self, authorization: str | None) -> str | None:
        """The caller a ``Bearer`` token names, or None. Every digest is compared
        in constant time, so timing tells nothing about which caller came close."""
        self._reload_if_changed()
        if not authorization or not authorization.startswith("Bearer "):
            return None
        presented = token_digest(authorization.removeprefix("Bearer ").strip())
        found = None
        for name, digest in self.digests.items():
            if hmac.compare_digest(presented, digest):
                found = name
        return found


def new_token(path: str | Path, caller: str) -> str:
    """A new token for ``caller`` (replacing its old one); only its digest is kept."""
    if not caller or not re.fullmatch(r"[A-Za-z0-9_.@-]{1,128}", caller):
        raise InputError(
            Problem("a caller name is 1-128 letters, digits, '_', '.', '@' or '-'", field="caller")
        )
    p = Path(path)
    digests = CallerTokens.load(p).digests if p.exists() else {}
    token = secrets.token_urlsafe(32)
    digests[caller] = token_digest(token)
    atomic_write_text(p, yaml.safe_dump(digests, sort_keys=True))
    return token
