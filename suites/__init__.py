"""finegate's built-in suites. Each kind is a module plus its data files."""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).parent


def builtin_suites() -> dict[str, Path]:
    """Name -> suite.yaml of every built-in suite (``kind/name``)."""
    found = {}
    for path in sorted(_ROOT.glob("*/*/suite.yaml")):
        found[f"{path.parent.parent.name}/{path.parent.name}"] = path
    return found


__all__ = ["builtin_suites"]
