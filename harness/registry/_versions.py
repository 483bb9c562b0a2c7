"""A model version: what may ship, named by the fingerprint its evaluation runs
and verdicts carry, with its lineage (base model, adapter, training manifest,
dataset, DP epsilon and delta)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from finegate.harness.core import InputError
from finegate.harness.system import innermost


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
    """What a version is made of, from the system description its run recorded,
    with the training manifest the run bound (never the file on disk now)."""
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
    training = system.get("training") or {}
    manifest = training.get("manifest")
    if manifest:
        lineage.update(
            {
                "training_manifest": manifest,
                "training_manifest_sha256": training.get("sha256"),
                "dataset_sha256": manifest.get("dataset", {}).get("sha256"),
                "dp": {k: manifest["dp"].get(k) for k in ("epsilon", "delta", "accountant")}
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


def artifacts_of(fingerprint: str, lineage: dict[str, Any]) -> dict[str, str]:
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
