"""Where finegate keeps its files.

``FINEGATE_HOME`` moves everything at once (tests point it at a temporary
folder); ``FINEGATE_STORE`` names the results store alone, as a path or a
SQLAlchemy URL.
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The root of finegate's own files (cache, embedded models, default store)."""
    env = os.environ.get("FINEGATE_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "finegate"


def models_dir() -> Path:
    return home() / "models"


def default_store_url() -> str:
    """The store used when none is named: ``FINEGATE_STORE`` or ``<home>/finegate.db``."""
    env = os.environ.get("FINEGATE_STORE")
    if env:
        return env
    return str(home() / "finegate.db")


def check_private(path: Path, what: str) -> None:
    """A secret others can read is no longer a secret: refuse it, and say how to
    close it. ``FileNotFoundError`` passes through for the caller to word."""
    import stat

    from finegate.harness.core._errors import InputError, Problem

    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(
            Problem(f"{what} is readable by others (mode {stat.S_IMODE(mode):o})", file=str(path)),
            hint=f"chmod 600 {path}",
        )
