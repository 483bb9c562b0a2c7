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
