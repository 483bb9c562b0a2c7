"""What every registry backend is, and the bookkeeping they share.

A backend keeps versions and aliases where its users keep them (the results
store, MLflow); the alias history and the audit log always live in the results
store, so the history of every alias is read the same way whichever backend
moved it, and every move is one audit record.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.engine import Connection

from finegate.harness.registry._versions import ModelVersion
from finegate.harness.registry.audit import append
from finegate.harness.store import Store, alias_events_table


class Registry(Protocol):
    location: str

    def register(
        self,
        name: str,
        *,
        fingerprint: str,
        source: str | None,
        lineage: dict[str, Any],
        actor: str,
    ) -> ModelVersion: ...

    def get(self, ref: str) -> ModelVersion: ...

    def versions(self, name: str | None = None) -> list[ModelVersion]: ...

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        actor: str,
        reason: str,
        action: str = "promote",
        audit: dict[str, Any] | None = None,
    ) -> None: ...

    def alias_history(self, name: str, alias: str | None = None) -> list[dict[str, Any]]: ...


class RegistryBase:
    """The alias history and the audit records, in the results store, for any backend.

    ``payload_extra`` is added to every audit payload the shared bookkeeping
    writes (the MLflow backend names its registry there)."""

    def __init__(self, store: Store, location: str):
        self.store = store
        self.location = location
        self.payload_extra: dict[str, Any] = {}

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        raise NotImplementedError

    def _log_alias_move(
        self,
        conn: Connection,
        target: ModelVersion,
        alias: str,
        previous: int | None,
        *,
        action: str,
        actor: str,
        reason: str,
        at: str,
        audit: dict[str, Any] | None,
    ) -> None:
        """The alias event (for rollback) and its audit record, in the caller's transaction."""
        conn.execute(
            alias_events_table.insert().values(
                name=target.name,
                alias=alias,
                version=target.version,
                previous=previous,
                action=action,
                actor=actor,
                reason=reason,
                at=at,
            )
        )
        append(
            conn,
            action=action,
            actor=actor,
            subject=target.ref,
            payload={
                "alias": alias,
                "previous": previous,
                "reason": reason,
                **self.payload_extra,
                **(audit or {}),
            },
            artifacts={"model": target.fingerprint},
        )

    def alias_history(self, name: str, alias: str | None = None) -> list[dict[str, Any]]:
        query = (
            select(alias_events_table)
            .where(alias_events_table.c.name == name)
            .order_by(alias_events_table.c.id)
        )
        if alias is not None:
            query = query.where(alias_events_table.c.alias == alias)
        with self.store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]
