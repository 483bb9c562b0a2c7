"""Built-in policy packs (YAML) and their JSON schema. Data only: the gate engine
in ``finegate.gates`` reads them."""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).parent


def builtin_policies() -> dict[str, Path]:
    """Pack name -> YAML path."""
    return {p.stem: p for p in sorted(_ROOT.glob("*.yaml"))}


def schema_path() -> Path:
    return _ROOT / "policy.schema.json"


__all__ = ["builtin_policies", "schema_path"]
