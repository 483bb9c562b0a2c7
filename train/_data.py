"""The training-data pipeline: read, normalise, deduplicate, census PII, split,
insert canaries, and write a dataset manifest that says exactly what went in.

- Every example becomes one conversation (the harness's ``Example``).
- Exact duplicates (same words, ignoring case and spacing) and near duplicates
  (Jaccard of word 5-gram shingles at or above ``near_duplicate``) are dropped,
  each drop recorded with the line it duplicated.
- PII is counted by type with presidio; with ``scrub_pii`` each value is
  replaced by ``<ENTITY_TYPE>`` before training.
- The split is by a hash of each example's content, so it does not depend on
  the order of the file and an example never changes split when others are added.
- DP protects one record: a record (or a PII value) that still occurs k times
  after deduplication gets only about k·ε. The manifest states the largest k.
- Provenance fields (``source``, ``licence``, ``consent``) travel with each
  example; the manifest counts the examples that lack them.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finegate.harness.core import Message, atomic_write_text, sha256_file, sha256_json, sha256_text
from finegate.harness.data import Example, jaccard, ngrams, read_examples, words
from finegate.train._digests import ALGORITHM, digest_key, example_digest, key_id
from finegate.train._recipe import CanaryConfig, DataConfig

PROVENANCE_FIELDS = ("source", "licence", "consent")
SPLITS = ("train", "validation", "test")
_NAMES = [
    "Ilse Brandt",
    "Tomasz Wierzba",
    "Amara Okafor",
    "Lucía Ferreyra",
    "Kenji Arakawa",
    "Saoirse Gallagher",
    "Dmitri Volkov",
    "Nadia Haddad",
    "Pavel Novak",
    "Mei-Ling Chou",
    "Rafael Antunes",
    "Oluwaseun Adeyemi",
]


@dataclass
class Record:
    """One example on its way through the pipeline."""

    messages: tuple[Message, ...]
    origin: str  # where it came from: "file.jsonl:12", "suite task/x case c1", "canary 0"
    provenance: dict[str, Any] = field(default_factory=dict)
    canary: int | None = None

    @property
    def text(self) -> str:
        return "\n".join(m.content for m in self.messages)

    @property
    def sha256(self) -> str:
        return sha256_json([[m.role, m.content] for m in self.messages])

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in self.messages]
        }
        if self.provenance:
            data["provenance"] = self.provenance
        if self.canary is not None:
            data["canary"] = self.canary
        return data


@dataclass
class PreparedDataset:
    splits: dict[str, list[Record]]
    manifest: dict[str, Any]
    dropped: list[dict[str, Any]]

    @property
    def hash(self) -> str:
        return str(self.manifest["sha256"])

    def write(self, folder: str | Path) -> Path:
        """The splits as chat JSONL (whose SHA-256 the manifest's ``splits_sha256``
        gives), the drops, and ``dataset_manifest.json``."""
        return write_prepared(folder, self.splits, self.dropped, self.manifest)


def split_jsonl(records: Sequence[Any]) -> str:
    """A split as the JSONL a contamination check or another trainer reads (each
    record's ``to_json``: a chat example, or a preference example)."""
    return "".join(
        json.dumps(r.to_json(), ensure_ascii=False, sort_keys=True) + "\n" for r in records
    )


def write_prepared(
    folder: str | Path,
    splits: dict[str, Sequence[Any]],
    dropped: Sequence[dict[str, Any]],
    manifest: dict[str, Any],
) -> Path:
    """A prepared data set's folder: one JSONL file a split, ``dropped.jsonl`` and
    ``dataset_manifest.json``, each written atomically."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, records in splits.items():
        atomic_write_text(out / f"{name}.jsonl", split_jsonl(records))
    atomic_write_text(
        out / "dropped.jsonl",
        "".join(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n" for d in dropped),
    )
    atomic_write_text(
        out / "dataset_manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    )
    return out


def _normal_form(text: str) -> tuple[str, ...]:
    return tuple(words(text))


def provenance_of(fields: dict[str, Any]) -> dict[str, Any]:
    """An example's provenance: its ``source``, ``licence`` and ``consent`` fields,
    updated by its ``provenance`` object, if it has one."""
    provenance = {k: fields[k] for k in PROVENANCE_FIELDS if k in fields}
    if isinstance(fields.get("provenance"), dict):
        provenance.update(fields["provenance"])
    return provenance


def missing_provenance(provenance: dict[str, Any]) -> list[str]:
    """The provenance fields an example lacks (absent or empty)."""
    return [k for k in PROVENANCE_FIELDS if not provenance.get(k)]


def _records_from_examples(examples: Sequence[Example], source_file: str) -> list[Record]:
    return [
        Record(ex.messages, f"{source_file}:{ex.line}", provenance_of(ex.extra)) for ex in examples
    ]


def deduplicate(records: list[Record], near: float) -> tuple[list[Record], list[dict[str, Any]]]:
    """Keep the first of every group of exact or near duplicates."""
    kept: list[Record] = []
    dropped: list[dict[str, Any]] = []
    exact: dict[tuple[str, ...], Record] = {}
    shingles_of: list[set[tuple[str, ...]]] = []
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for r in records:
        key = _normal_form(r.text)
        if key in exact:
            dropped.append(
                {"example": r.origin, "reason": "exact duplicate", "of": exact[key].origin}
            )
            continue
        shingles = ngrams(list(key), 5)
        candidates = {i for s in shingles for i in index.get(s, ())}
        best, best_i = 0.0, -1
        for i in candidates:
            sim = jaccard(shingles, shingles_of[i])
            if sim > best:
                best, best_i = sim, i
        if best >= near:
            dropped.append(
                {
                    "example": r.origin,
                    "reason": "near duplicate",
                    "similarity": round(best, 4),
                    "of": kept[best_i].origin,
                }
            )
            continue
        exact[key] = r
        for s in shingles:
            index[s].append(len(kept))
        shingles_of.append(shingles)
        kept.append(r)
    return kept, dropped


def split_of(record: Record, ratios: tuple[float, float, float]) -> str:
    return split_of_key(record.sha256, ratios)


def split_of_key(key: str, ratios: tuple[float, float, float]) -> str:
    """The split of a hex SHA-256 split key: its first 32 bits as a fraction."""
    bucket = int(key[:8], 16) / 0xFFFFFFFF
    if bucket < ratios[0]:
        return "train"
    if bucket < ratios[0] + ratios[1]:
        return "validation"
    return "test"


def make_canaries(config: CanaryConfig, seed: int) -> list[dict[str, Any]]:
    """``count`` canaries with random secrets from a seeded generator."""
    rng = random.Random(f"canaries:{seed}")
    out = []
    for i in range(config.count):
        name = _NAMES[i % len(_NAMES)] + ("" if i < len(_NAMES) else f" {i // len(_NAMES) + 1}")
        secret = "".join(rng.choice("0123456789") for _ in range(config.secret_digits))
        out.append(
            {
                "index": i,
                "name": name,
                "secret": secret,
                "text": config.format.format(name=name, secret=secret),
                "prefix": config.format.split("{secret}")[0].format(name=name),
                "repetitions": config.repetitions,
            }
        )
    return out


def scan_texts(
    examples: Sequence[Sequence[str]], mode: str, scrub: bool
) -> tuple[dict[str, Any], list[list[str] | None]]:
    """The PII census of examples given as their texts (one census entry per
    example) and, per example, its texts with each value replaced by
    ``<ENTITY_TYPE>`` when ``scrub`` is set and something was found (else None)."""
    from finegate.harness.pii import PIIScanner, census

    scanner = PIIScanner(mode)
    per_example = []
    cleaned: list[list[str] | None] = []
    for texts in examples:
        findings = [scanner.scan(t) for t in texts]
        per_example.append([f for fs in findings for f in fs])
        if scrub and any(findings):
            cleaned.append([scanner.redact(t, fs) for t, fs in zip(texts, findings, strict=True)])
        else:
            cleaned.append(None)
    summary = census(per_example).to_dict()
    summary.update({"scanner": scanner.describe(), "scrubbed": scrub and summary["total"] > 0})
    return summary, cleaned


def pii_off() -> dict[str, Any]:
    """The manifest's ``pii`` block when the recipe switched the scan off."""
    return {
        "scanner": None,
        "total": 0,
        "by_type": {},
        "scrubbed": False,
        "max_value_repeats": 0,
        "note": "PII scan switched off in the recipe",
    }


def _scan(records: list[Record], mode: str, scrub: bool) -> tuple[dict[str, Any], list[Record]]:
    summary, texts = scan_texts([[m.content for m in r.messages] for r in records], mode, scrub)
    cleaned = []
    for r, new in zip(records, texts, strict=True):
        if new is None:
            cleaned.append(r)
            continue
        messages = tuple(Message(m.role, t) for m, t in zip(r.messages, new, strict=True))
        cleaned.append(Record(messages, r.origin, r.provenance, r.canary))
    return summary, cleaned


def prepare(
    config: DataConfig,
    *,
    seed: int = 0,
    base_dir: Path | None = None,
    suite_splits: dict[str, list[Record]] | None = None,
) -> PreparedDataset:
    """Run the pipeline on ``config.path`` (split by hash) or on records already
    split (a suite's train and validation splits)."""
    files: list[dict[str, Any]] = []
    if suite_splits is not None:
        records = [r for name in SPLITS for r in suite_splits.get(name, [])]
        assigned = {id(r): name for name in SPLITS for r in suite_splits.get(name, [])}
    else:
        assert config.path is not None
        path = Path(config.path)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        examples = read_examples(path, config.format)
        files.append({"name": path.name, "sha256": sha256_file(path), "examples": len(examples)})
        records = _records_from_examples(examples, path.name)
        assigned = {}
    read = len(records)
    kept, dropped = deduplicate(records, config.near_duplicate)
    if config.pii != "off":
        pii, cleaned = _scan(kept, config.pii, config.scrub_pii)
        # scrubbing may have replaced records: carry their split over
        assigned = {
            id(new): assigned[id(old)]
            for old, new in zip(kept, cleaned, strict=True)
            if id(old) in assigned
        }
        kept = cleaned
    else:
        pii = pii_off()
    splits: dict[str, list[Record]] = {name: [] for name in SPLITS}
    for r in kept:
        splits[assigned.get(id(r)) or split_of(r, config.splits)].append(r)
    canaries = make_canaries(config.canaries, seed)
    for c in canaries:
        for _ in range(c["repetitions"]):
            splits["train"].append(
                Record(
                    (Message("user", config.canaries.prompt), Message("assistant", c["text"])),
                    f"canary {c['index']}",
                    {"source": "finegate canary"},
                    c["index"],
                )
            )
    missing = [r for r in kept if missing_provenance(r.provenance)]
    repeats = Counter(_normal_form(r.text) for name in SPLITS for r in splits[name])
    key = digest_key()
    example_hashes = {
        name: [example_digest(r.messages, key) for r in splits[name]] for name in SPLITS
    }
    manifest: dict[str, Any] = {
        "files": files,
        "counts": {
            "read": read,
            "kept": len(kept),
            "dropped_exact": sum(d["reason"] == "exact duplicate" for d in dropped),
            "dropped_near": sum(d["reason"] == "near duplicate" for d in dropped),
            **{name: len(splits[name]) for name in SPLITS},
            "canary_copies": sum(c["repetitions"] for c in canaries),
        },
        "config": config.model_dump(mode="json"),
        "seed": seed,
        "pii": pii,
        "provenance": {
            "fields": list(PROVENANCE_FIELDS),
            "missing": len(missing),
            "required": config.require_provenance,
            "missing_examples": [r.origin for r in missing][:100],
        },
        "group_privacy": {
            "max_record_repeats": max(repeats.values(), default=0),
            "max_pii_value_repeats": pii.get("max_value_repeats", 0),
            "note": "differential privacy protects one record: a record or value that occurs "
            "k times is protected only at about k times epsilon",
        },
        "canaries": canaries,
        "examples": example_hashes,
        "example_digests": {
            "algorithm": ALGORITHM,
            "key_id": key_id(key),
            "note": "keyed with a secret kept outside this folder; only its holder can tell "
            "whether a record was trained on",
        },
        # what a contamination check of the training data names (`finegate contamination
        # --train train.jsonl`): the split as `finegate data prepare` writes it
        "splits_sha256": {name: sha256_text(split_jsonl(splits[name])) for name in SPLITS},
    }
    manifest["sha256"] = sha256_json(
        {k: v for k, v in manifest.items() if k != "files"}
        | {"files": [f["sha256"] for f in files]}
    )
    return PreparedDataset(splits, manifest, dropped)


def suite_records(suite_ref: str, template: Any = None) -> dict[str, list[Record]]:
    """A suite's train and validation splits as conversations: the suite's prompt
    for the user turn (through the template, if any), the first reference as the answer."""
    from finegate.harness.suite import resolve_suite

    suite = resolve_suite(suite_ref)
    out: dict[str, list[Record]] = {}
    for name in ("train", "validation"):
        records = []
        for case in suite.split(name):
            if not case.references:
                continue
            prompt: Any = (Message("user", suite.render_prompt(case)),)
            if template is not None:
                prompt = template.apply(prompt)
            records.append(
                Record(
                    (*prompt, Message("assistant", case.references[0])),
                    f"suite {suite.id} case {case.id}",
                    {
                        "source": f"finegate suite {suite.id} v{suite.config.version}",
                        "licence": "Apache-2.0",
                        "consent": "synthetic data",
                    },
                )
            )
        out[name] = records
    return out
