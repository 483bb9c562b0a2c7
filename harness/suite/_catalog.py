"""The catalogue of named suites: built-in ones and those of installed plugins,
through the ``finegate.suites`` entry point group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, PluginRegistry, Problem
from finegate.harness.suite._suite import Suite, load_suite

suite_providers: PluginRegistry[Any] = PluginRegistry("suite provider", "finegate.suites")


def suite_catalog() -> dict[str, Path]:
    """Every named suite: built-in ones and those from installed plugins."""
    catalog: dict[str, Path] = {}
    for provider_name in suite_providers.names():
        provider = suite_providers.get(provider_name)
        catalog.update({name: Path(p) for name, p in provider().items()})
    return catalog


def resolve_suite(ref: str) -> Suite:
    """A suite by file path, folder path or catalogue name (``task/support_triage``)."""
    p = Path(ref)
    if p.suffix in (".yaml", ".yml") or p.is_dir() or p.exists():
        if not p.exists():
            raise InputError(Problem("suite file not found", file=str(p)))
        return load_suite(p)
    catalog = suite_catalog()
    if ref not in catalog:
        import difflib

        close = difflib.get_close_matches(ref, list(catalog), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InputError(
            f"unknown suite {ref!r}; {hint}known: {', '.join(sorted(catalog)) or 'none'} "
            "(or give a path to a suite.yaml)"
        )
    return load_suite(catalog[ref])
