"""What a fine-tune was trained on, bound into the run that evaluated it.

A training manifest on disk is a file anyone can edit after the evaluation
(``delta: 0.9``, ``missing: 0``), and a system without an adapter (an endpoint,
a merged full fine-tune) has none to read. So the run records, when it starts,
the manifest it evaluated: its content, its SHA-256, the dataset manifest's
SHA-256, and whether the manifest describes the adapter that was loaded. Gates,
reports and the registry read that copy; a manifest on disk that no longer
matches it is an error, not a newer truth. A manifest can also be bound to a
run explicitly (``finegate eval --manifest``) for a system with no adapter.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, Problem, sha256_files
from finegate.harness.system._protocol import innermost

TRAINING_MANIFEST_FILE = "training_manifest.json"
DATASET_MANIFEST_FILE = "dataset_manifest.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def adapter_weights_sha256(folder: Path) -> str:
    """The adapter's own files (weights, config), without the manifests that
    describe them: the hash a training manifest records as ``adapter_sha256``."""
    from finegate.harness.system.hf import content_files

    files = [
        p
        for p in content_files(folder)
        if p.name not in (TRAINING_MANIFEST_FILE, DATASET_MANIFEST_FILE)
    ]
    return sha256_files(files, folder)


def _manifest_path(bound: str | Path) -> Path:
    p = Path(bound)
    return p / TRAINING_MANIFEST_FILE if p.is_dir() else p


def training_evidence(description: dict[str, Any], bound: str | Path | None) -> dict[str, Any]:
    """What the run records of its training: from ``bound`` (a manifest file, or
    a folder holding one), else from the adapter folder of the system."""
    adapter = innermost(description).get("adapter")
    if bound is not None:
        path, source = _manifest_path(bound), "bound"
        if not path.is_file():
            raise InputError(Problem("training manifest not found", file=str(path)))
    elif adapter:
        path, source = Path(adapter) / TRAINING_MANIFEST_FILE, "adapter"
        if not path.is_file():
            return {"source": source, "path": str(path), "missing": True}
    else:
        return {"source": None}
    raw = path.read_bytes()
    try:
        manifest = json.loads(raw)
    except ValueError as e:
        raise InputError(Problem(f"not JSON ({e})", file=str(path))) from None
    if not isinstance(manifest, dict) or "dataset" not in manifest:
        raise InputError(
            Problem("not a training manifest (no 'dataset')", file=str(path), field="dataset")
        )
    dataset = path.parent / DATASET_MANIFEST_FILE
    matches = None
    if adapter:  # bound or found, a manifest of another adapter does not count
        matches = manifest.get("adapter_sha256") == adapter_weights_sha256(Path(adapter))
    return {
        "source": source,
        "path": str(path.resolve()),
        "sha256": _sha256(raw),
        "manifest": manifest,
        "dataset_manifest_sha256": _sha256(dataset.read_bytes()) if dataset.is_file() else None,
        "adapter_matches": matches,
    }


@dataclass(frozen=True)
class RecordedTraining:
    """The training manifest a run recorded, or why there is none to decide on.

    ``base`` is true for a system with no adapter and no bound manifest: nothing
    says what it was trained on, which some policies accept (``base_models:
    not_applicable``) and the rest treat as missing evidence."""

    manifest: dict[str, Any] | None
    problem: str | None
    base: bool = False


def recorded_training(run: dict[str, Any]) -> RecordedTraining:
    """The manifest the run recorded, checked against the file it came from."""
    evidence = run["system"].get("training")
    adapter = innermost(run["system"]).get("adapter")
    if evidence is None:
        if not adapter:
            return RecordedTraining(None, "the candidate has no adapter", base=True)
        return RecordedTraining(
            None,
            f"run {run['id']} recorded no training manifest (an older finegate evaluated "
            "it): evaluate the model again",
        )
    if evidence.get("source") is None:
        return RecordedTraining(None, "the candidate has no adapter", base=True)
    path = Path(evidence["path"])
    if evidence.get("missing"):
        return RecordedTraining(None, f"{path} not found when run {run['id']} evaluated it")
    if evidence.get("adapter_matches") is False:
        return RecordedTraining(
            None,
            f"{path} describes another adapter than the one run {run['id']} evaluated "
            "(its adapter_sha256 is not the adapter's)",
        )
    if path.is_file() and _sha256(path.read_bytes()) != evidence["sha256"]:
        return RecordedTraining(
            None,
            f"{path} changed after run {run['id']} evaluated the model: the run recorded "
            f"{str(evidence['sha256'])[:12]}; evaluate again, or restore the manifest",
        )
    return RecordedTraining(dict(evidence["manifest"]), None)
