"""Choosing the registry backend a command names."""

from __future__ import annotations

from finegate.harness.core import InputError
from finegate.harness.registry._base import Registry
from finegate.harness.registry._sqlite import SQLiteRegistry
from finegate.harness.store import Store


def open_registry(store: Store, uri: str | None = None) -> Registry:
    """``None`` or ``store``: the embedded registry; ``mlflow:<tracking URI>``: MLflow's."""
    if uri in (None, "", "store"):
        return SQLiteRegistry(store)
    assert uri is not None
    if uri.startswith("mlflow:"):
        from finegate.harness.registry._mlflow import MlflowRegistry

        return MlflowRegistry(store, uri.removeprefix("mlflow:"))
    raise InputError(f"unknown registry {uri!r}: use 'store' or 'mlflow:<tracking URI>'")
