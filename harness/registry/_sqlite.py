"""The model registry: versions with their lineage, aliases, approvals.

A model version is a system under test that may ship: its fingerprint (the hash
evaluation runs and verdicts carry), where its adapter lives, and its lineage
(base model and hash, adapter hash, training manifest, dataset hash, DP epsilon
and delta). Aliases (``candidate``, ``staging``, ``production``, or any name)
point at versions; every move is kept, so a rollback knows where to go back to.

Two backends behind one interface: the embedded default keeps everything in
the results store, each action and its audit record in one transaction, so a
kill leaves the registry as it was before the action; MLflow's model registry
for teams that run MLflow, through ``MlflowClient`` (versions, aliases and
tags; the audit log stays in the finegate store).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, func, select

from finegate.harness.core import InputError
from finegate.harness.registry._base import RegistryBase
from finegate.harness.registry._versions import ModelVersion, artifacts_of, parse_ref
from finegate.harness.registry.audit import append
from finegate.harness.store import (
    Store,
    aliases_table,
    model_versions_table,
    now_iso,
)


class SQLiteRegistry(RegistryBase):
    """The embedded registry, in the results store."""

    def __init__(self, store: Store):
        super().__init__(store, store.location)

    def register(
        self,
        name: str,
        *,
        fingerprint: str,
        source: str | None,
        lineage: dict[str, Any],
        actor: str,
    ) -> ModelVersion:
        with self.store.transaction() as conn:
            latest = conn.execute(
                select(func.max(model_versions_table.c.version)).where(
                    model_versions_table.c.name == name
                )
            ).scalar()
            version = ModelVersion(
                name, int(latest or 0) + 1, fingerprint, now_iso(), source, lineage
            )
            conn.execute(
                model_versions_table.insert().values(
                    name=name,
                    version=version.version,
                    fingerprint=fingerprint,
                    created_at=version.created_at,
                    source=source,
                    lineage_json=json.dumps(lineage, sort_keys=True, default=str),
                )
            )
            append(
                conn,
                action="register",
                actor=actor,
                subject=version.ref,
                payload={
                    "fingerprint": fingerprint,
                    "source": source,
                    "base_model": lineage.get("base_model"),
                    "dp": lineage.get("dp"),
                },
                artifacts=artifacts_of(fingerprint, lineage),
            )
        return version

    def _row(self, row: Any) -> ModelVersion:
        return ModelVersion(
            row["name"],
            row["version"],
            row["fingerprint"],
            row["created_at"],
            row["source"],
            json.loads(row["lineage_json"]),
        )

    def get(self, ref: str) -> ModelVersion:
        name, version, alias = parse_ref(ref)
        with self.store.engine.connect() as conn:
            if alias is not None:
                version = conn.execute(
                    select(aliases_table.c.version).where(
                        aliases_table.c.name == name, aliases_table.c.alias == alias
                    )
                ).scalar()
                if version is None:
                    raise InputError(f"{name!r} has no alias {alias!r}")
            query = select(model_versions_table).where(model_versions_table.c.name == name)
            query = (
                query.where(model_versions_table.c.version == version)
                if version
                else query.order_by(model_versions_table.c.version.desc()).limit(1)
            )
            row = conn.execute(query).mappings().first()
        if row is None:
            raise InputError(f"no model version {ref!r} in the registry ({self.location})")
        return self._row(row)

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        query = select(model_versions_table).order_by(
            model_versions_table.c.name, model_versions_table.c.version
        )
        if name is not None:
            query = query.where(model_versions_table.c.name == name)
        with self.store.engine.connect() as conn:
            return [self._row(r) for r in conn.execute(query).mappings()]

    def aliases(self, name: str) -> dict[str, int]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(aliases_table.c.alias, aliases_table.c.version).where(
                    aliases_table.c.name == name
                )
            )
            return {a: v for a, v in rows}

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
    ) -> None:
        target = self.get(f"{name}:{version}")
        with self.store.transaction() as conn:
            previous = conn.execute(
                select(aliases_table.c.version).where(
                    aliases_table.c.name == name, aliases_table.c.alias == alias
                )
            ).scalar()
            conn.execute(
                delete(aliases_table).where(
                    aliases_table.c.name == name, aliases_table.c.alias == alias
                )
            )
            at = now_iso()
            conn.execute(
                aliases_table.insert().values(name=name, alias=alias, version=version, set_at=at)
            )
            self._log_alias_move(
                conn,
                target,
                alias,
                previous,
                action=action,
                actor=actor,
                reason=reason,
                at=at,
                audit=audit,
            )
