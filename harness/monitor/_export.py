"""Drifted live traffic turned into evaluation material: a new suite version, a review sheet.

A monitor report names the live requests least like the reference ("drifted").
Watching them is not enough: the next candidate should be evaluated on them
(``export_drifted_suite``: a new suite version, one case per drifted request, with
no reference answer, so reference-based scorers call those cases not applicable and
reference-free ones score them), and people should judge what the served versions
answered (``export_drifted_review``: a blind sheet). Both read the request log,
whose texts are redacted of PII by default: the placeholders stay, and text logged
raw is exported only when asked for by name (``allow_raw``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import yaml
from pydantic import TypeAdapter
from sqlalchemy import func, select

from finegate.harness.core import (
    Case,
    InputError,
    Message,
    Problem,
    atomic_write_bytes,
    atomic_write_text,
    last_turn_text,
    sha256_json,
)
from finegate.harness.store import Store, monitor_reports_table, serve_requests_table
from finegate.harness.suite import Suite, load_suite

DRIFT_SECTIONS = ("inputs_vs_suite", "outputs_vs_reference")
TAGS = ("drifted", "from-monitor")
LABELS = ("good", "bad")  # the ratings of a single-answer labelling sheet
REDACTED_NOTE = (
    "PII in this prompt was replaced by <ENTITY> placeholders when the request was "
    "logged; the case keeps the placeholders"
)
_ARMS = ("production", "canary")  # A and B of an A/B sheet
_LOG = serve_requests_table
_CASE = TypeAdapter(Case)
_MESSAGES = TypeAdapter(list[Message])
_ROW = ("id", "at", "name", "version", "alias", "fingerprint", "endpoint", "prompt", "answer")


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote. ``path``: the new suite's folder or the review sheet's
    (``review.csv`` in it); ``n_cases``: cases added or items on the sheet;
    ``skipped_purged``: drifted requests the log's retention deleted. A review also
    gives ``key_path`` and ``sheet`` (``"ab"`` or ``"label"``); a suite,
    ``already_present``: drifted requests it held already (an earlier export)."""

    path: Path
    n_cases: int
    skipped_purged: int
    report_id: str
    key_path: Path | None = None
    sheet: str | None = None
    already_present: int = 0


class DriftedRows(list[dict[str, Any]]):
    """The rows of ``drifted_requests``; ``purged_ids`` are those skipped because
    the log's retention deleted them, so a caller can say how many are missing."""

    def __init__(self, rows: list[dict[str, Any]], purged: Sequence[str]):
        super().__init__(rows)
        self.purged_ids, self.skipped_purged = tuple(purged), len(purged)


def _fail(message: str, report: str | None = None, hint: str | None = None, **at: Any) -> NoReturn:
    """Every refusal here is the user's input problem: one located line, no traceback."""
    if report is not None:
        at.setdefault("file", f"monitor report {report}")
    raise InputError(Problem(message, **at), hint=hint)


def _load_report(store: Store, report_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report's row and its parsed JSON."""
    query = select(monitor_reports_table).where(monitor_reports_table.c.id == report_id)
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        _fail(f"no monitor report {report_id!r} in {store.location}", field="report")
    try:
        report = json.loads(row["report_json"])
    except ValueError as e:
        _fail(f"not JSON ({e})", report_id, field="report_json")
    if not isinstance(report, dict):
        _fail("not a JSON object", report_id, field="report_json")
    return dict(row), report


def _drifted_ids(report: dict[str, Any], report_id: str, which: Sequence[str]) -> dict[str, list]:
    """Request id -> the drift sections naming it, in the report's order, each once."""
    if unknown := [w for w in which if w not in DRIFT_SECTIONS]:
        _fail(f"unknown drift section(s) {unknown}; choose from {DRIFT_SECTIONS}", field="which")
    drift = report.get("drift") or {}
    if not isinstance(drift, dict):
        _fail("not an object", report_id, field="drift")
    order: dict[str, list[str]] = {}
    for section in which:
        block = drift.get(section) or {}  # null: that check did not run
        drifted = block.get("drifted", []) if isinstance(block, dict) else None
        if not isinstance(drifted, list):
            _fail("no list of drifted examples", report_id, field=f"drift.{section}")
        for i, example in enumerate(drifted):
            rid = example.get("request_id") if isinstance(example, dict) else None
            if not isinstance(rid, str) or not rid:
                _fail("no request_id", report_id, field=f"drift.{section}.drifted[{i}]")
            order.setdefault(rid, []).append(section)
    return order


def _retention_explains(report: dict[str, Any], oldest: str | None) -> bool:
    """Whether retention can have deleted requests of the report's window. It deletes
    every row older than a cutoff, so the log's oldest row is at or after the
    cutoff: a request at or after the window's start can be gone only if the window
    began before that oldest row. Without a start, retention is given the benefit."""
    window = report.get("window")
    since = window.get("since") if isinstance(window, dict) else None
    if oldest is None or not isinstance(since, str):
        return True
    try:
        start, first = (datetime.fromisoformat(t) for t in (since, oldest))
    except ValueError:
        return True
    return start.replace(tzinfo=start.tzinfo or UTC) < first.replace(tzinfo=first.tzinfo or UTC)


def _decode_prompt(row: dict[str, Any], report_id: str) -> str | list[dict[str, str]]:
    """A chat request's prompt is logged as JSON messages, any other as text."""
    if row["endpoint"] != "chat":
        return str(row["prompt"] or "")
    try:
        messages = _MESSAGES.validate_json(row["prompt"] or "")
    except ValueError:
        messages = []
    if not messages:
        _fail(f"request {row['id']}: its logged prompt is not chat messages", report_id)
    return [{"role": m.role, "content": m.content} for m in messages]


def _rows_of(
    store: Store, report_id: str, which: Sequence[str] | str, limit: int | None, allow_raw: bool
) -> tuple[dict[str, Any], dict[str, Any], DriftedRows]:
    """The report's row, its JSON, and its drifted requests as ``drifted_requests``
    gives them (raw-logged text refused unless ``allow_raw``)."""
    row, report = _load_report(store, report_id)
    ordered = _drifted_ids(report, report_id, (which,) if isinstance(which, str) else which)
    ids = list(ordered)
    found: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(ids), 500):  # under every database's parameter limit
            query = select(*(_LOG.c[c] for c in (*_ROW, "text_form")))
            query = query.where(_LOG.c.id.in_(ids[start : start + 500]))
            found |= {r["id"]: dict(r) for r in conn.execute(query).mappings()}
        oldest = conn.execute(select(func.min(_LOG.c.at))).scalar()
    missing = [rid for rid in ids if rid not in found]
    if missing and not _retention_explains(report, oldest):
        why = "its retention cannot have deleted them (it holds requests older than the window)"
        _fail(f"the request log holds no request {', '.join(missing)}; {why}", report_id)
    rows, purged = [], []
    for rid, sections in ordered.items():
        if limit is not None and len(rows) >= limit:
            break
        if rid not in found:
            purged.append(rid)
            continue
        rows.append({**found[rid], "prompt": _decode_prompt(found[rid], report_id)})
        rows[-1]["drift"] = sections
    if (raw := [r["id"] for r in rows if r["text_form"] == "raw"]) and not allow_raw:
        hint = "allow_raw=True exports raw text on purpose"
        _fail(f"requests {', '.join(raw)} were logged raw, not redacted", report_id, hint)
    return row, report, DriftedRows(rows, purged)


def drifted_requests(
    store: Store,
    report_id: str,
    *,
    which: Sequence[str] = DRIFT_SECTIONS,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The request-log rows of a stored report's drifted examples, in the report's
    order (``which`` sections in turn), each once, at most ``limit`` of them: id, at,
    name, version, alias, fingerprint, endpoint, prompt (text, or ``{role, content}``
    messages for a chat request), answer, text_form (``redacted`` or ``raw``), drift
    (the sections naming it). A missing report, malformed report JSON, or a request
    missing from the log for no reason its retention explains raises ``InputError``;
    requests the retention deleted are skipped and counted: the result is a
    ``DriftedRows`` whose ``skipped_purged`` says how many."""
    return _rows_of(store, report_id, which, limit, allow_raw=True)[2]


# -- a new suite version ------------------------------------------------------------


def _check_empty(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        _fail("exists and is not an empty folder; an export never overwrites", file=str(out))


def bump_version(version: str) -> str:
    """The next version: the last number in it plus one (``1.9`` -> ``1.10``,
    ``2026-01`` -> ``2026-02``), else ``.1`` appended."""
    m = re.search(r"(\d+)(\D*)$", version)
    if m is None:
        return f"{version}.1"
    digits = m.group(1)
    return version[: m.start(1)] + str(int(digits) + 1).zfill(len(digits)) + m.group(2)


def _edit_in_place(text: str, changes: dict[str, Any]) -> str:
    """Top-level values replaced by their JSON (valid YAML flow), missing keys added
    after ``version``: the comments and layout of the rest stay as they were."""
    nodes = {k.value: (k, v) for k, v in yaml.compose(text, Loader=yaml.SafeLoader).value}
    edits: list[tuple[int, int, str]] = []
    for key, value in changes.items():
        flow = json.dumps(value, ensure_ascii=False)
        if key in nodes:
            start, end = nodes[key][1].start_mark.index, nodes[key][1].end_mark.index
            edits.append((start, end, flow + ("\n" if text[start:end].endswith("\n") else "")))
        else:
            k, v = nodes["version"]
            eol = text.find("\n", v.end_mark.index)
            at, lead = (len(text), "\n") if eol < 0 else (eol + 1, "")
            edits.append((at, at, f"{lead}{' ' * k.start_mark.column}{key}: {flow}\n"))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _yaml_with(text: str, changes: dict[str, Any]) -> str:
    """The suite's YAML with ``changes`` made; edited in place when that reads back
    as intended, else dumped anew (its comments are then lost)."""
    want = {**yaml.safe_load(text), **changes}
    try:
        edited = _edit_in_place(text, changes)
        if yaml.safe_load(edited) == want:
            return edited
    except (yaml.YAMLError, KeyError, AttributeError):
        pass
    return yaml.safe_dump(want, sort_keys=False, allow_unicode=True)


def _case_line(
    row: dict[str, Any], report_id: str, report: dict[str, Any], split: str | None
) -> dict[str, Any]:
    """One drifted request as a case line: its prompt, no reference answer."""
    kind = "input" if isinstance(row["prompt"], str) else "messages"
    line: dict[str, Any] = {"id": f"drift-{row['id']}", kind: row["prompt"], "tags": list(TAGS)}
    if split is not None:
        line["split"] = split  # else the suite's split would leave it out
    redacted = row["text_form"] != "raw"
    meta = {"source": "monitor", "report": report_id, "monitor": report.get("name")}
    meta |= {"request_id": row["id"], "requested_at": row["at"], "drift": row["drift"]}
    meta["served_by"] = {k: row[k] for k in ("name", "version", "alias")}
    meta |= {"text_form": row["text_form"], "redacted": redacted}
    line["metadata"] = meta | ({"note": REDACTED_NOTE} if redacted else {})
    return line


def _jsonl(objects: Sequence[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects).encode("utf-8")


def _case_file(
    suite: Suite, folder: Path, lines: list[dict[str, Any]]
) -> tuple[str, bytes, dict[str, Any] | None]:
    """(path in the new folder, its bytes, the new ``source`` or None if unchanged).
    A JSONL file inside the folder keeps its bytes (old cases, old hashes), the new
    lines appended through its ``columns``; any other becomes JSONL in the folder."""
    src = suite.config.source
    assert src is not None
    path = folder / src.path
    jsonl = (src.format or path.suffix.lstrip(".")).lower() == "jsonl"
    if jsonl and path.resolve().is_relative_to(folder):
        old = path.read_bytes()
        old += b"\n" if old[-1:] not in (b"", b"\n") else b""
        new = _jsonl([{src.columns.get(k, k): v for k, v in x.items()} for x in lines])
        return src.path, old + new, None
    name = f"{path.stem}.jsonl" if not (folder / f"{path.stem}.jsonl").exists() else None
    name = name or f"{path.stem}.drifted.jsonl"
    source = {"path": name, "format": "jsonl"} | ({"split": src.split} if src.split else {})
    return name, _jsonl([c.to_dict() for c in suite.all_cases] + lines), source


def _publish(folder: Path, out: Path, files: dict[str, bytes], expect: int) -> None:
    """Copy the suite's folder, write ``files`` over it, load the result, and move
    it into place with one rename: ``out`` holds all of it or nothing."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.{secrets.token_hex(6)}.tmp"
    staging.mkdir()  # with the usual permissions (mkdtemp's are 0700)
    try:
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(folder, staging, dirs_exist_ok=True, ignore=ignore)
        for name, data in files.items():
            atomic_write_bytes(staging / name, data)
        try:  # a file it names outside its folder, say, is not in the copy
            written = load_suite(staging / next(iter(files)))
        except InputError as e:
            raise InputError(
                e.problems, hint="the new version did not load; none written"
            ) from None
        if len(written.all_cases) != expect:
            _fail("the new suite did not read back its cases", file=str(out))
        try:
            os.replace(staging, out)  # onto a missing or empty folder
        except OSError as e:
            _fail(f"cannot be created ({e.strerror}); nothing was written", file=str(out))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def export_drifted_suite(
    store: Store,
    report_id: str,
    suite_dir: str | Path,
    out_dir: str | Path,
    *,
    which: Sequence[str] = DRIFT_SECTIONS,
    limit: int | None = None,
    version: str | None = None,
    allow_raw: bool = False,
) -> ExportResult:
    """Write a new version of a suite into ``out_dir`` (missing or empty): its folder
    copied, its YAML with ``version`` bumped (or set to ``version``) and the source
    noted in its description, its case file holding the old cases plus one case per
    drifted request (``drift-<request id>``, tags ``drifted`` and ``from-monitor``,
    no references, no labels; see ``_case_line``). Drifted requests the suite
    already holds are left out and counted. The suite hash changes with the cases."""
    out = Path(out_dir)
    _check_empty(out)
    suite = load_suite(suite_dir)
    folder, config = suite.path.parent.resolve(), suite.config
    if out.resolve().is_relative_to(folder):
        _fail("must not be inside the suite's own folder", file=str(out))
    if config.source is None or config.task != "generate":
        _fail("only a case-file suite of task 'generate' takes live prompts", file=str(suite.path))
    _, report, rows = _rows_of(store, report_id, which, limit, allow_raw)
    held = {c.id for c in suite.all_cases}
    split = config.source.split
    lines = [
        _case_line(r, report_id, report, split) for r in rows if f"drift-{r['id']}" not in held
    ]
    if not lines:
        why = f"{len(rows)} already in the suite, {rows.skipped_purged} deleted by retention"
        _fail(f"no drifted request to add ({why})", report_id)
    for line in lines:  # a template that needs more than the input fails here, not in a run
        if "input" in line:
            suite.render_prompt(_CASE.validate_python(line))
    new_version = version or bump_version(config.version)
    if new_version == config.version:
        _fail(f"is already {new_version!r}", field="version")
    note = f"Version {new_version}: version {config.version} plus {len(lines)} drifted live "
    note += f"requests from monitor report {report_id} (no reference answers)."
    changes: dict[str, Any] = {"version": new_version}
    changes["description"] = f"{config.description.strip()} {note}".strip()
    name, content, source = _case_file(suite, folder, lines)
    changes |= {"source": source} if source else {}
    yaml_text = _yaml_with(suite.path.read_text("utf-8"), changes)
    files = {suite.path.name: yaml_text.encode("utf-8"), name: content}
    _publish(folder, out, files, len(suite.all_cases) + len(lines))
    present = len(rows) - len(lines)
    return ExportResult(out, len(lines), rows.skipped_purged, report_id, already_present=present)


# -- a blind review sheet --------------------------------------------------------------


def _counterparts(store: Store, rows: DriftedRows, versions: tuple[Any, Any]) -> dict[str, Any]:
    """Per drifted request, the other arm's answer to the very same prompt (the
    oldest such answer), where the log holds one."""
    found = {}
    with store.engine.connect() as conn:
        for r in rows:
            if None in versions or r["version"] not in versions:
                continue
            same = select(_LOG.c.prompt).where(_LOG.c.id == r["id"]).scalar_subquery()
            the_other = versions[1] if r["version"] == versions[0] else versions[0]
            query = select(*(_LOG.c[c] for c in _ROW)).where(
                _LOG.c.name == r["name"],
                _LOG.c.version == the_other,
                _LOG.c.endpoint == r["endpoint"],
                _LOG.c.prompt == same,
                _LOG.c.answer.is_not(None),
                _LOG.c.status == 200,
            )
            match = conn.execute(query.order_by(_LOG.c.at, _LOG.c.id).limit(1)).mappings().first()
            if match is not None:
                found[r["id"]] = dict(match)
    return found


def _side(arm: dict[str, Any], name: str, alias: str, version: Any, seen: list[Any]) -> Any:
    """A key's ``baseline`` or ``candidate``, as ``import_review`` reads them."""
    prints = [x["fingerprint"] for x in seen if x["version"] == version and x["fingerprint"]]
    side = {"id": arm.get("run") or f"{name}:{version}", "label": f"{name}:{version} ({alias})"}
    side |= {"system_name": f"{name}:{version}", "version": version, "alias": alias}
    return side | {"fingerprint": prints[0] if prints else arm.get("fingerprint")}


def export_drifted_review(
    store: Store,
    report_id: str,
    out_path: str | Path,
    *,
    which: Sequence[str] = DRIFT_SECTIONS,
    limit: int | None = None,
    key_path: str | Path | None = None,
    seed: int = 0,
    pairs: bool = True,
    allow_raw: bool = False,
) -> ExportResult:
    """Write a blind review sheet of the drifted requests into the folder
    ``out_path`` (missing or empty) as ``review.csv``, and its key to ``key_path``
    (default ``<out_path>.key.json`` beside the folder, never in it).

    Review sheets are A/B. When ``pairs`` and the log holds, for every drifted
    request, the other arm's answer to the very same prompt, the sheet is the review
    package's A/B sheet (A production, B canary; sides drawn from ``seed``), which
    ``import_review`` reads. Otherwise it is a single-answer labelling sheet in the
    same layout (``answer`` for ``left, right``; rated ``good`` or ``bad``) whose
    key is not an A/B key. Either way the rater sees prompts and answers only;
    versions, aliases and request ids are in the key."""
    out = Path(out_path)
    _check_empty(out)
    key = Path(key_path) if key_path else out.parent / f"{out.name}.key.json"
    if key.resolve().is_relative_to(out.resolve()):
        _fail("the key must not sit in the folder handed to raters", file=str(key))
    if key.exists():
        _fail("exists; an export never overwrites a key", file=str(key))
    row, report, rows = _rows_of(store, report_id, which, limit, allow_raw)
    if not rows:
        _fail(f"no drifted request ({rows.skipped_purged} deleted by retention)", report_id)
    arms = report.get("arms") if isinstance(report.get("arms"), dict) else {}
    arms = {a: arms[a] if isinstance(arms.get(a), dict) else {} for a in _ARMS}
    versions = tuple(row[f"{a}_version"] or arms[a].get("version") for a in _ARMS)
    other = _counterparts(store, rows, versions) if pairs else {}
    ab = all(r["id"] in other for r in rows)
    rng = random.Random(seed)
    order, width = rng.sample(range(len(rows)), len(rows)), len(str(len(rows)))
    ids = [r["id"] for r in rows]
    sheet = sha256_json({"report": report_id, "seed": seed, "ab": ab, "items": ids})[:12]
    lines, items = [], {}
    name = str(report.get("name") or rows[0]["name"])
    for n, i in enumerate(order, start=1):
        r = rows[i]
        item = f"q{n:0{width}d}"  # a letter first: spreadsheets keep it as text
        where = {"suite_id": f"monitor/{name}", "case_id": f"drift-{r['id']}"}
        line = [sheet, item, last_turn_text(r["prompt"])]
        if ab:
            a, b = (r, other[r["id"]]) if r["version"] == versions[0] else (other[r["id"]], r)
            left_is = "A" if rng.random() < 0.5 else "B"
            left, right = (a, b) if left_is == "A" else (b, a)
            lines.append([*line, left["answer"] or "", right["answer"] or ""])
            items[item] = {**where, "left": left_is, "requests": {"A": a["id"], "B": b["id"]}}
        else:
            lines.append([*line, r["answer"] or ""])
            hidden = {k: r[k] for k in ("version", "alias", "fingerprint")}
            items[item] = {**where, "request_id": r["id"], **hidden}
    key_data: dict[str, Any] = {"sheet": sheet, "seed": seed, "report": report_id, "items": items}
    if ab:
        seen = [*rows, *other.values()]
        for role, alias, version in zip(("baseline", "candidate"), _ARMS, versions, strict=True):
            key_data[role] = _side(arms[alias], name, alias, version, seen)
    else:
        key_data |= {"kind": "label", "ratings": list(LABELS)}
    answers = ["left", "right"] if ab else ["answer"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["sheet", "item", "prompt", *answers, "rating", "rater", "comment"])
    writer.writerows([*line, "", "", ""] for line in lines)
    atomic_write_text(key, json.dumps(key_data, indent=2, sort_keys=True) + "\n")
    try:  # the key first: a sheet never exists without it
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "review.csv", buf.getvalue())
    except BaseException:
        key.unlink(missing_ok=True)
        raise
    kind = "ab" if ab else "label"
    return ExportResult(out, len(lines), rows.skipped_purged, report_id, key_path=key, sheet=kind)
