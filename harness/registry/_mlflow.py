"""The registry on MLflow's model registry, for teams that already run MLflow.

Versions, aliases and tags live in MLflow (through ``MlflowClient``); each
version carries its finegate fingerprint and lineage as tags, approvals as
tags too. MLflow keeps no alias history, so the moves (for rollback) and the
audit log stay in the finegate store. An action is recorded there only after
MLflow has confirmed it.
"""

from __future__ import annotations

import json
from typing import Any

from finegate.harness.core import FinegateError, InputError
from finegate.harness.registry._base import RegistryBase
from finegate.harness.registry._versions import ModelVersion, artifacts_of, parse_ref
from finegate.harness.registry.audit import append
from finegate.harness.store import Store, now_iso

TAG = "finegate."


def _local_path(source: str) -> bool:
    """A path on this machine's disk (plain, or a file: URI), not a URI MLflow reads."""
    return "://" not in source or source.startswith("file:")


def _placeholder(tags: dict[str, str]) -> str:
    """The source MLflow is given when it cannot be handed the real one: a URI it
    accepts (an absolute path under a scheme of finegate's), naming the weights."""
    return f"finegate:/fingerprint/{tags.get(f'{TAG}fingerprint', '')}"


class MlflowRegistry(RegistryBase):
    def __init__(self, store: Store, uri: str):
        try:
            from mlflow import MlflowClient
        except ImportError:
            raise InputError(
                "the MLflow registry needs mlflow: pip install 'finegate[mlflow]'"
            ) from None
        super().__init__(store, f"mlflow:{uri}")
        self.payload_extra = {"registry": self.location}
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def _version(self, mv: Any) -> ModelVersion:
        tags = mv.tags or {}
        return ModelVersion(
            mv.name,
            int(mv.version),
            tags.get(f"{TAG}fingerprint", ""),
            tags.get(f"{TAG}created_at", ""),
            tags.get(f"{TAG}source") or (None if mv.source == _placeholder(tags) else mv.source),
            json.loads(tags.get(f"{TAG}lineage", "{}")),
        )

    def register(
        self,
        name: str,
        *,
        fingerprint: str,
        source: str | None,
        lineage: dict[str, Any],
        actor: str,
    ) -> ModelVersion:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(name)
        except MlflowException:
            self.client.create_registered_model(name, tags={f"{TAG}managed": "true"})
        compact = {k: v for k, v in lineage.items() if k != "training_manifest"}
        tags = {
            f"{TAG}fingerprint": fingerprint,
            f"{TAG}created_at": now_iso(),
            f"{TAG}lineage": json.dumps(compact, sort_keys=True, default=str),
        }
        if source and _local_path(source):
            # a tracking server refuses a path on the caller's disk as a source
            # (it could never read it); the path is kept as a tag instead
            tags[f"{TAG}source"] = source
        mv = self.client.create_model_version(
            name,
            source=source if source and not _local_path(source) else _placeholder(tags),
            tags=tags,
        )
        version = self._version(self.client.get_model_version(name, mv.version))
        with self.store.transaction() as conn:
            append(
                conn,
                action="register",
                actor=actor,
                subject=version.ref,
                payload={"fingerprint": fingerprint, "registry": self.location},
                artifacts=artifacts_of(fingerprint, lineage),
            )
        return version

    def get(self, ref: str) -> ModelVersion:
        from mlflow.exceptions import MlflowException

        name, version, alias = parse_ref(ref)
        try:
            if alias is not None:
                return self._version(self.client.get_model_version_by_alias(name, alias))
            if version is not None:
                return self._version(self.client.get_model_version(name, str(version)))
        except MlflowException:
            raise InputError(f"no model version {ref!r} in {self.location}") from None
        found = self.versions(name)
        if not found:
            raise InputError(f"no model version {ref!r} in {self.location}")
        return found[-1]

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        query = f"name='{name}'" if name else ""
        found = [self._version(mv) for mv in self.client.search_model_versions(query)]
        return sorted(found, key=lambda v: (v.name, v.version))

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
        try:
            previous: int | None = int(self.client.get_model_version_by_alias(name, alias).version)
        except Exception:
            previous = None
        # the record first: a move MLflow never made is found and completed by
        # `finegate registry verify --repair`; a move without a record is never made
        with self.store.transaction() as conn:
            self._log_alias_move(
                conn,
                target,
                alias,
                previous,
                action=action,
                actor=actor,
                reason=reason,
                at=now_iso(),
                audit=audit,
            )
        try:
            self.client.set_registered_model_alias(name, alias, str(version))
        except Exception as e:
            raise FinegateError(
                f"{name}@{alias} -> {version} is recorded but MLflow did not move the alias "
                f"({e}); `finegate registry verify --repair` completes it"
            ) from None
