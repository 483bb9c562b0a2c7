"""Case files and their formats: JSONL and CSV built in, any other through
``@case_format`` or the ``finegate.case_formats`` entry point group. Every bad
line is reported with its file, line and field, all at once."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import (
    TypeAdapter,
    ValidationError,
)

from finegate.harness.core import (
    Case,
    InputError,
    PluginRegistry,
    Problem,
    problems_from_validation,
    read_jsonl,
)
from finegate.harness.suite._config import SourceConfig

_case_adapter = TypeAdapter(Case)


def _check_case(case: Case, task: str) -> list[tuple[str | None, str]]:
    problems: list[tuple[str | None, str]] = []
    if (case.input is None) == (case.messages is None):
        problems.append((None, "exactly one of 'input' and 'messages' must be set"))
    if case.messages is not None and not case.messages:
        problems.append(("messages", "must hold at least one message"))
    if task == "multiple_choice":
        if len(case.choices) < 2:
            problems.append(("choices", "a multiple-choice case needs at least two choices"))
        if case.answer is None:
            problems.append(("answer", "a multiple-choice case needs the index of its answer"))
    if case.answer is not None and not 0 <= case.answer < len(case.choices):
        problems.append(
            ("answer", f"index {case.answer} is outside choices[0..{len(case.choices) - 1}]")
        )
    return problems


def _rename_columns(obj: dict[str, Any], columns: dict[str, str]) -> dict[str, Any]:
    if not columns:
        return obj
    out = {k: v for k, v in obj.items() if k not in columns.values()}
    for field_name, column in columns.items():
        if column in obj:
            out[field_name] = obj[column]
    return out


def _csv_row_to_case(row: dict[str, Any]) -> dict[str, Any]:
    """CSV cells are strings: lists are '|'-separated, labels are ``label.NAME`` columns."""
    out: dict[str, Any] = {}
    labels: dict[str, str] = {}
    metadata: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            continue
        if key.startswith("label."):
            labels[key[6:]] = value
        elif key in ("references", "choices", "tags"):
            out[key] = [v for v in (value or "").split("|") if v != ""]
        elif key == "answer":
            out[key] = int(value) if value not in (None, "") else None
        elif key in ("id", "input", "split"):
            out[key] = value if value != "" or key == "input" else None
        else:
            metadata[key] = value
    if labels:
        out["labels"] = labels
    if metadata:
        out["metadata"] = metadata
    return out


CaseRows = list[tuple[int, Case]]

CaseReader = Callable[[Path, dict[str, str], list[Problem]], CaseRows]


case_formats: PluginRegistry[CaseReader] = PluginRegistry("case format", "finegate.case_formats")


def case_format(name: str) -> Callable[[CaseReader], CaseReader]:
    """Register a reader of case files: ``(path, columns, problems) -> [(line, Case)]``.
    A reader appends what is wrong to ``problems`` (every problem, with its line)
    and returns the cases it could read."""
    return case_formats.decorator(name)


def load_cases(path: Path, config: SourceConfig, task: str = "generate") -> list[Case]:
    fmt = config.format or path.suffix.lstrip(".").lower()
    problems: list[Problem] = []
    cases: list[Case] = []
    seen: dict[str, int] = {}
    reader = case_formats.get(fmt, file=str(path), field="source.format")
    rows = reader(path, config.columns, problems)
    for lineno, case in rows:
        for field_name, message in _check_case(case, task):
            problems.append(Problem(message, file=str(path), line=lineno, field=field_name))
        if case.id in seen:
            problems.append(
                Problem(
                    f"duplicate case id {case.id!r} (first on line {seen[case.id]})",
                    file=str(path),
                    line=lineno,
                    field="id",
                )
            )
        seen.setdefault(case.id, lineno)
        cases.append(case)
    if problems:
        raise InputError(problems)
    return cases


@case_format("jsonl")
def _jsonl_rows(path: Path, columns: dict[str, str], problems: list[Problem]) -> CaseRows:
    return read_jsonl(path, _case_adapter, lambda o: _rename_columns(o, columns), problems)


@case_format("csv")
def _csv_rows(path: Path, columns: dict[str, str], problems: list[Problem]) -> CaseRows:
    rows: CaseRows = []
    try:
        fh = path.open("r", encoding="utf-8", newline="")
    except FileNotFoundError:
        raise InputError(Problem("case file not found", file=str(path))) from None
    with fh:
        reader = csv.DictReader(fh)
        for raw in reader:
            lineno = reader.line_num
            try:
                obj = _csv_row_to_case(_rename_columns(dict(raw), columns))
                rows.append((lineno, _case_adapter.validate_python(obj)))
            except ValueError as err:
                if isinstance(err, ValidationError):
                    problems.extend(problems_from_validation(err, file=str(path), line=lineno))
                else:
                    problems.append(Problem(str(err), file=str(path), line=lineno))
    return rows
