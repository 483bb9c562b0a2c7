"""Content addressing.

Everything finegate stores is named by a SHA-256 of what changes its output and
nothing else: canonical JSON (sorted keys, no whitespace) for values, streamed
bytes for files. Hashing a 500 MB weight file costs seconds, so file digests are
memoised in a JSON file keyed by (path, size, mtime_ns).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from finegate.harness.core._atomic import atomic_write_text
from finegate.harness.core._paths import home

_CHUNK = 1 << 20

_lock = threading.Lock()

# digests this process already knows, so the memo file is read once per file, not per call
_seen: dict[tuple[str, int, int], str] = {}


def canonical_json(value: Any) -> str:
    """JSON that is the same string for equal values, whatever the dict order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_json(value: Any) -> str:
    return sha256_text(canonical_json(value))


def _digest_cache_path() -> Path:
    return home() / "file-digests.json"


def _load_digest_cache() -> dict[str, dict[str, Any]]:
    path = _digest_cache_path()
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def sha256_file(path: str | os.PathLike[str], *, use_cache: bool = True) -> str:
    """SHA-256 of a file's bytes, memoised by path, size and modification time."""
    p = Path(path).resolve()
    st = p.stat()
    key = str(p)
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    seen_key = (key, st.st_size, st.st_mtime_ns)
    if use_cache and seen_key in _seen:
        return _seen[seen_key]
    if use_cache:
        with _lock:
            entry = _load_digest_cache().get(key)
        if (
            entry
            and entry.get("size") == stamp["size"]
            and entry.get("mtime_ns") == stamp["mtime_ns"]
        ):
            _seen[seen_key] = str(entry["sha256"])
            return _seen[seen_key]
    h = hashlib.sha256()
    with p.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    digest = h.hexdigest()
    if use_cache:
        _seen[seen_key] = digest
        with _lock:
            cache = _load_digest_cache()
            cache[key] = {**stamp, "sha256": digest}
            # a read-only home only loses the memo, never the digest
            with contextlib.suppress(OSError):
                atomic_write_text(_digest_cache_path(), json.dumps(cache, sort_keys=True))
    return digest


def sha256_files(paths: list[Path], root: Path) -> str:
    """One digest over several files, naming each by its path relative to ``root``
    so that moving a folder does not change its hash."""
    entries = sorted((p.relative_to(root).as_posix(), sha256_file(p)) for p in paths)
    return sha256_json(entries)
