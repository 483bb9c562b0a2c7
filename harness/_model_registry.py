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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, func, select

from finegate.harness._audit import append
from finegate.harness._errors import InputError
from finegate.harness._hashing import sha256_json
from finegate.harness._store import (
    Store,
    alias_events_table,
    aliases_table,
    approvals_table,
    model_versions_table,
    now_iso,
)
from finegate.harness._system import innermost

MANIFEST_FILE = "training_manifest.json"


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    fingerprint: str
    created_at: str
    source: str | None
    lineage: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lineage_of(system: dict[str, Any]) -> dict[str, Any]:
    """What a version is made of, from a system description (and the training
    manifest in its adapter folder, when there is one)."""
    inner = innermost(system)
    lineage: dict[str, Any] = {
        "base_model": inner.get("model"),
        "base_weights_sha256": inner.get("weights_hash"),
        "adapter": inner.get("adapter"),
        "adapter_sha256": inner.get("adapter_hash"),
        "template_sha256": system.get("template_hash"),
        "training_manifest": None,
        "dataset_sha256": None,
        "dp": None,
    }
    adapter = inner.get("adapter")
    if adapter and (Path(adapter) / MANIFEST_FILE).is_file():
        manifest = json.loads((Path(adapter) / MANIFEST_FILE).read_text("utf-8"))
        lineage.update(
            {
                "training_manifest": manifest,
                "training_manifest_sha256": sha256_json(manifest),
                "dataset_sha256": manifest.get("dataset", {}).get("sha256"),
                "dp": {k: manifest["dp"][k] for k in ("epsilon", "delta", "accountant")}
                if manifest.get("dp")
                else None,
            }
        )
    return lineage


def parse_ref(ref: str) -> tuple[str, int | None, str | None]:
    """``name:3`` (a version), ``name@production`` (an alias) or ``name`` (the latest)."""
    if "@" in ref:
        name, alias = ref.split("@", 1)
        return name, None, alias
    if ":" in ref:
        name, version = ref.rsplit(":", 1)
        if not version.isdigit():
            raise InputError(f"model version {ref!r}: expected NAME:NUMBER or NAME@ALIAS")
        return name, int(version), None
    return ref, None, None


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

    def approve(self, ref: str, *, by: str, reason: str) -> None: ...

    def approvals(self, ref: str) -> list[dict[str, Any]]: ...


class SQLiteRegistry:
    """The embedded registry, in the results store."""

    def __init__(self, store: Store):
        self.store = store
        self.location = store.location

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
                artifacts=_artifacts(fingerprint, lineage),
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
            conn.execute(
                alias_events_table.insert().values(
                    name=name,
                    alias=alias,
                    version=version,
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
                payload={"alias": alias, "previous": previous, "reason": reason, **(audit or {})},
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

    def approve(self, ref: str, *, by: str, reason: str) -> None:
        target = self.get(ref)
        with self.store.transaction() as conn:
            conn.execute(
                approvals_table.insert().values(
                    name=target.name, version=target.version, by=by, reason=reason, at=now_iso()
                )
            )
            append(
                conn,
                action="approve",
                actor=by,
                subject=target.ref,
                payload={"reason": reason},
                artifacts={"model": target.fingerprint},
            )

    def approvals(self, ref: str) -> list[dict[str, Any]]:
        target = self.get(ref)
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(approvals_table)
                .where(
                    approvals_table.c.name == target.name,
                    approvals_table.c.version == target.version,
                )
                .order_by(approvals_table.c.id)
            )
            return [{"by": r["by"], "reason": r["reason"], "at": r["at"]} for r in rows.mappings()]

    def approvals_for_fingerprint(self, fingerprint: str) -> list[dict[str, Any]]:
        return approvals_for_fingerprint(self, fingerprint)


def approvals_for_fingerprint(registry: Registry, fingerprint: str) -> list[dict[str, Any]]:
    """Approvals of every version that is this model (same fingerprint)."""
    out: list[dict[str, Any]] = []
    for v in registry.versions():
        if v.fingerprint == fingerprint:
            out += registry.approvals(v.ref)
    return out


def _artifacts(fingerprint: str, lineage: dict[str, Any]) -> dict[str, str]:
    artifacts = {"model": fingerprint}
    for key in (
        "base_weights_sha256",
        "adapter_sha256",
        "dataset_sha256",
        "training_manifest_sha256",
        "template_sha256",
    ):
        if lineage.get(key):
            artifacts[key.removesuffix("_sha256")] = str(lineage[key])
    return artifacts


def open_registry(store: Store, uri: str | None = None) -> Registry:
    """``None`` or ``store``: the embedded registry; ``mlflow:<tracking URI>``: MLflow's."""
    if uri in (None, "", "store"):
        return SQLiteRegistry(store)
    assert uri is not None
    if uri.startswith("mlflow:"):
        from finegate.harness._mlflow_registry import MlflowRegistry

        return MlflowRegistry(store, uri.removeprefix("mlflow:"))
    raise InputError(f"unknown registry {uri!r}: use 'store' or 'mlflow:<tracking URI>'")
