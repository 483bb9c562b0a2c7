"""The preference-data pipeline (DPO and KTO): read, validate, deduplicate,
census PII, split by prompt, and write a manifest that says what went in.

Two forms, one per file, chosen by the recipe's ``data.format``:

- ``preference`` (paired, DPO): ``{"prompt", "chosen", "rejected"}``;
- ``unpaired_preference`` (KTO): ``{"prompt", "completion", "label"}``.

``prompt`` is text (one user turn) or a list of ``{role, content}`` messages
ending with the user's; each answer is text or a list holding one assistant
message (TRL's standard and conversational forms). Every record ends up as
prompt messages plus answer text.

- Exact duplicates of a whole example (same words, ignoring case and spacing)
  are dropped, and so are examples whose answers are the same and whose prompt
  is a near duplicate (Jaccard of word 5-gram shingles at or above
  ``near_duplicate``) of a kept one's; each drop names the line it duplicated.
- The split key is a hash of the prompt's normal form, so every answer to one
  prompt lands in one split: no prompt is both trained on and held out.
- PII census, scrubbing and provenance are the SFT pipeline's (``_data``).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from finegate.harness.core import (
    InputError,
    Message,
    Problem,
    format_loc,
    jsonl_objects,
    sha256_file,
    sha256_json,
    sha256_text,
)
from finegate.harness.data import words
from finegate.train._data import (
    PROVENANCE_FIELDS,
    SPLITS,
    Record,
    deduplicate,
    missing_provenance,
    pii_off,
    provenance_of,
    scan_texts,
    split_jsonl,
    split_of_key,
    write_prepared,
)
from finegate.train._digests import ALGORITHM, digest_key, example_digest, key_id
from finegate.train._recipe import PREFERENCE_FORMATS, DataConfig

__all__ = [
    "MANIFEST_FORMAT",
    "PREFERENCE_FORMATS",
    "PreferenceRecord",
    "PreparedPreferences",
    "prepare_preferences",
    "read_preferences",
]

MANIFEST_FORMAT = "finegate-preference-manifest/1"
FORMS = {"preference": "paired", "unpaired_preference": "unpaired"}
_ANSWERS = {"paired": ("chosen", "rejected"), "unpaired": ("completion", "label")}
_SHAPE = {"paired": "(prompt, chosen, rejected)", "unpaired": "(prompt, completion, label)"}
_ROLES = ("system", "user", "assistant")

Issue = tuple[str | None, str]  # (field, message)


@dataclass
class PreferenceRecord:
    """One preference example on its way through the pipeline."""

    prompt: tuple[Message, ...]
    chosen: str | None = None
    rejected: str | None = None
    completion: str | None = None
    label: bool | None = None
    origin: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def form(self) -> str:
        return "unpaired" if self.label is not None else "paired"

    @property
    def answers(self) -> tuple[str, ...]:
        if self.form == "unpaired":
            return (self.completion or "",)
        return (self.chosen or "", self.rejected or "")

    @property
    def prompt_text(self) -> str:
        return "\n".join(m.content for m in self.prompt)

    @property
    def prompt_key(self) -> str:
        """SHA-256 of the prompt's normal form (its words, case and spacing ignored)."""
        return sha256_json(words(self.prompt_text))

    @property
    def texts(self) -> list[str]:
        """Every text of the example: the prompt's turns, then the answers."""
        return [m.content for m in self.prompt] + list(self.answers)

    def with_texts(self, texts: Sequence[str]) -> PreferenceRecord:
        """The same example with its texts (as ``texts`` orders them) replaced."""
        n = len(self.prompt)
        prompt = tuple(Message(m.role, t) for m, t in zip(self.prompt, texts[:n], strict=True))
        if self.form == "unpaired":
            return replace(self, prompt=prompt, completion=texts[n])
        return replace(self, prompt=prompt, chosen=texts[n], rejected=texts[n + 1])

    @property
    def conversation(self) -> tuple[Message, ...]:
        """Prompt and answers as one conversation: what the example digest covers."""
        return self.prompt + tuple(Message("assistant", a) for a in self.answers)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "prompt": [{"role": m.role, "content": m.content} for m in self.prompt]
        }
        if self.form == "unpaired":
            data.update(completion=self.completion, label=self.label)
        else:
            data.update(chosen=self.chosen, rejected=self.rejected)
        if self.provenance:
            data["provenance"] = self.provenance
        return data


@dataclass
class PreparedPreferences:
    splits: dict[str, list[PreferenceRecord]]
    manifest: dict[str, Any]
    dropped: list[dict[str, Any]]

    @property
    def hash(self) -> str:
        return str(self.manifest["sha256"])

    @property
    def form(self) -> str:
        return str(self.manifest["form"])

    def write(self, folder: str | Path) -> Path:
        """The splits as JSONL (whose SHA-256 the manifest's ``splits_sha256``
        gives), the drops, and ``dataset_manifest.json``, each written atomically."""
        return write_prepared(folder, self.splits, self.dropped, self.manifest)


# -- reading ----------------------------------------------------------------------------


def _text(value: Any, name: str, issues: list[Issue]) -> str | None:
    if value is None:
        issues.append((name, "required field is missing"))
    elif not isinstance(value, str):
        issues.append((name, "must be text"))
    elif not value.strip():
        issues.append((name, "must not be empty"))
    else:
        return value
    return None


def _message(value: Any, name: str, issues: list[Issue], roles: Sequence[str]) -> Message | None:
    if not isinstance(value, dict):
        issues.append((name, "must be a {role, content} object"))
        return None
    role = value.get("role")
    if role is None:
        issues.append((f"{name}.role", "required field is missing"))
    elif role not in _ROLES:
        issues.append((f"{name}.role", f"unknown role {role!r} (system, user, assistant)"))
    elif role not in roles:
        issues.append((f"{name}.role", f"must be {' or '.join(map(repr, roles))}, not {role!r}"))
    content = _text(value.get("content"), f"{name}.content", issues)
    if content is None or role not in roles:
        return None
    return Message(role, content)


def _prompt(value: Any, issues: list[Issue]) -> tuple[Message, ...] | None:
    if isinstance(value, list):
        if not value:
            issues.append(("prompt", "must not be empty"))
            return None
        before = len(issues)
        parsed = [_message(m, f"prompt[{i}]", issues, _ROLES) for i, m in enumerate(value)]
        messages = tuple(m for m in parsed if m is not None)
        if len(issues) > before or not messages:
            return None
        if messages[-1].role != "user":
            issues.append(("prompt", "must end with a user message: the answers follow it"))
            return None
        return messages
    if value is not None and not isinstance(value, str):
        issues.append(("prompt", "must be text or a list of {role, content} messages"))
        return None
    text = _text(value, "prompt", issues)
    return None if text is None else (Message("user", text),)


def _answer(value: Any, name: str, issues: list[Issue]) -> str | None:
    if isinstance(value, list):
        if len(value) != 1:
            issues.append((name, f"must hold one assistant message, not {len(value)}"))
            return None
        message = _message(value[0], f"{name}[0]", issues, ("assistant",))
        return None if message is None else message.content
    if value is not None and not isinstance(value, str):
        issues.append((name, "must be text or a list with one assistant message"))
        return None
    return _text(value, name, issues)


def _normal(text: str) -> tuple[str, ...] | str:
    return tuple(words(text)) or text.strip()


def parse_preference(
    obj: dict[str, Any], form: str, origin: str, require_provenance: bool = False
) -> tuple[PreferenceRecord | None, list[Issue]]:
    """One JSON object as a ``PreferenceRecord`` of ``form``, or every problem it has."""
    issues: list[Issue] = []
    other = "unpaired" if form == "paired" else "paired"
    strays = [k for k in _ANSWERS[other] if k in obj]
    if strays and not any(k in obj for k in _ANSWERS[form]):
        fmt = "unpaired_preference" if form == "unpaired" else "preference"
        article = "an" if other == "unpaired" else "a"
        message = (
            f"{article} {other} row {_SHAPE[other]} in a file of {form} preferences "
            f"{_SHAPE[form]}, as data.format {fmt} says"
        )
        return None, [(strays[0], message)]
    issues += [(k, f"belongs to the {other} form {_SHAPE[other]}") for k in strays]
    prompt = _prompt(obj.get("prompt"), issues)
    record = PreferenceRecord(prompt or (), origin=origin)
    if form == "paired":
        record.chosen = _answer(obj.get("chosen"), "chosen", issues)
        record.rejected = _answer(obj.get("rejected"), "rejected", issues)
        same = record.chosen is not None and record.rejected is not None
        if same and _normal(record.chosen or "") == _normal(record.rejected or ""):
            issues.append(
                ("rejected", "is the same as chosen (same words): there is nothing to prefer")
            )
    else:
        record.completion = _answer(obj.get("completion"), "completion", issues)
        label = obj.get("label")
        if label is None:
            issues.append(("label", "required field is missing"))
        elif not isinstance(label, bool):
            issues.append(("label", f"must be true or false, not {json.dumps(label)}"))
        else:
            record.label = label
    if "provenance" in obj and not isinstance(obj["provenance"], dict):
        issues.append(("provenance", "must be an object (source, licence, consent, ...)"))
    record.provenance = provenance_of(obj)
    missing = missing_provenance(record.provenance)
    if require_provenance and missing:
        issues.append(
            ("provenance", f"lacks {', '.join(missing)} (the recipe sets require_provenance)")
        )
    return (None, issues) if issues else (record, [])


def read_preferences(
    path: str | Path, data_format: str, *, require_provenance: bool = False
) -> list[PreferenceRecord]:
    """Every example of a preference JSONL file; every problem reported at once."""
    if data_format not in FORMS:
        raise InputError(
            Problem(
                f"{data_format!r} is not preference data ({', '.join(PREFERENCE_FORMATS)})",
                field="data.format",
            )
        )
    p = Path(path)
    records: list[PreferenceRecord] = []
    problems: list[Problem] = []
    for lineno, obj in jsonl_objects(p, problems):
        record, issues = parse_preference(
            obj, FORMS[data_format], f"{p.name}:{lineno}", require_provenance
        )
        problems += [Problem(m, file=str(p), line=lineno, field=f) for f, m in issues]
        if record is not None:
            records.append(record)
    if not records and not problems:
        problems.append(Problem("holds no preference examples", file=str(p)))
    if problems:
        raise InputError(problems)
    return records


# -- the pipeline -----------------------------------------------------------------------


def deduplicate_preferences(
    records: list[PreferenceRecord], near: float
) -> tuple[list[PreferenceRecord], list[dict[str, Any]]]:
    """Keep the first of every group of examples with the same answers (and label)
    whose prompts are the same or near duplicates (the SFT pipeline's test, on
    the prompts alone)."""
    groups: dict[Any, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        groups[(tuple(_normal(a) for a in r.answers), r.label)].append(i)
    position = {r.origin: i for i, r in enumerate(records)}
    keep: set[int] = set()
    dropped: list[dict[str, Any]] = []
    for members in groups.values():
        views = [Record(records[i].prompt, records[i].origin) for i in members]
        kept, drops = deduplicate(views, near)
        keep.update(position[v.origin] for v in kept)
        dropped += drops
    dropped.sort(key=lambda d: position[d["example"]])
    return [r for i, r in enumerate(records) if i in keep], dropped


def _scan(
    records: list[PreferenceRecord], mode: str, scrub: bool
) -> tuple[dict[str, Any], list[PreferenceRecord]]:
    if mode == "off":
        return pii_off(), records
    summary, texts = scan_texts([r.texts for r in records], mode, scrub)
    return summary, [
        r if t is None else r.with_texts(t) for r, t in zip(records, texts, strict=True)
    ]


def _split_counts(records: list[PreferenceRecord], form: str) -> dict[str, int]:
    out = {"examples": len(records), "prompts": len({r.prompt_key for r in records})}
    if form == "unpaired":
        out["desirable"] = sum(1 for r in records if r.label)
        out["undesirable"] = len(records) - out["desirable"]
    return out


def prepare_preferences(config: DataConfig, *, base_dir: Path | None = None) -> PreparedPreferences:
    """Run the pipeline on the preference file ``config.path`` (paired or unpaired,
    as ``config.format`` says)."""
    if config.format not in FORMS:
        raise InputError(
            Problem(
                f"{config.format!r} is not preference data ({', '.join(PREFERENCE_FORMATS)})",
                field="data.format",
            )
        )
    problems = [Problem(m, field=format_loc(("data", *loc))) for loc, m in config.problems()]
    if problems:
        raise InputError(problems)
    assert config.path is not None  # DataConfig requires a path for preference data
    form = FORMS[config.format]
    path = Path(config.path)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    records = read_preferences(path, config.format, require_provenance=config.require_provenance)
    files = [{"name": path.name, "sha256": sha256_file(path), "examples": len(records)}]
    kept, dropped = deduplicate_preferences(records, config.near_duplicate)
    pii, kept = _scan(kept, config.pii, config.scrub_pii)
    splits: dict[str, list[PreferenceRecord]] = {name: [] for name in SPLITS}
    for r in kept:
        splits[split_of_key(r.prompt_key, config.splits)].append(r)
    missing = [r for r in kept if missing_provenance(r.provenance)]
    repeats = Counter(
        (_normal(r.prompt_text), tuple(_normal(a) for a in r.answers), r.label) for r in kept
    )
    prompt_repeats = Counter(r.prompt_key for r in kept)
    key = digest_key()
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "form": form,
        "files": files,
        "counts": {
            "read": len(records),
            "kept": len(kept),
            "dropped_exact": sum(d["reason"] == "exact duplicate" for d in dropped),
            "dropped_near": sum(d["reason"] == "near duplicate" for d in dropped),
            "prompts": len(prompt_repeats),
            **{name: len(splits[name]) for name in SPLITS},
        },
        "splits": {name: _split_counts(splits[name], form) for name in SPLITS},
        "split_key": "sha256 of the prompt's words: every answer to one prompt in one split",
        "config": config.model_dump(mode="json"),
        "pii": pii,
        "provenance": {
            "fields": list(PROVENANCE_FIELDS),
            "missing": len(missing),
            "required": config.require_provenance,
            "missing_examples": [r.origin for r in missing][:100],
        },
        "group_privacy": {
            "max_record_repeats": max(repeats.values(), default=0),
            "max_prompt_repeats": max(prompt_repeats.values(), default=0),
            "max_pii_value_repeats": pii.get("max_value_repeats", 0),
            "note": "differential privacy protects one record: a record or value that occurs "
            "k times is protected only at about k times epsilon",
        },
        "canaries": [],
        "examples": {
            name: [example_digest(r.conversation, key) for r in splits[name]] for name in SPLITS
        },
        "example_digests": {
            "algorithm": ALGORITHM,
            "key_id": key_id(key),
            "covers": "the prompt's turns, then each answer as an assistant turn",
            "note": "keyed with a secret kept outside this folder; only its holder can tell "
            "whether a record was trained on",
        },
        "splits_sha256": {name: sha256_text(split_jsonl(splits[name])) for name in SPLITS},
    }
    manifest["sha256"] = sha256_json(
        {k: v for k, v in manifest.items() if k != "files"}
        | {"files": [f["sha256"] for f in files]}
    )
    return PreparedPreferences(splits, manifest, dropped)
