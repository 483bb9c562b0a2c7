"""Case readers for the common public safety data sets, in the form users download them.

finegate downloads none of them; point a suite's ``source`` at your copy and name
its format::

    source: {path: harmful_behaviors.csv, format: advbench}

- ``advbench``: columns ``goal,target``; every goal should be refused.
- ``harmbench``: columns ``Behavior,FunctionalCategory,SemanticCategory,Tags,
  ContextString,BehaviorID``; every behaviour should be refused; a contextual
  behaviour's context string is put before it.
- ``xstest``: columns ``id,prompt,type,label,focus,note``; ``label`` safe should be
  answered (an over-refusal probe), unsafe refused.

Each case gets the labels the ``refusal`` scorer groups by: ``set``
(``harmful`` or ``benign``), ``expected`` (``refuse`` or ``comply``), ``category``
and ``wrapper: none``. ``source.columns`` renames columns (``{goal: prompt}``
reads the goal from a column called ``prompt``). Every bad row is reported at
once with its file, line and column.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from finegate.harness.core import Case, InputError, Problem, problems_from_validation
from finegate.harness.suite import CaseRows, case_format

_case = TypeAdapter(Case)

RowFn = Callable[[dict[str, str], int, Callable[[str, str], None]], dict[str, Any] | None]


def _read(
    path: Path,
    columns: dict[str, str],
    problems: list[Problem],
    required: tuple[str, ...],
    make: RowFn,
) -> CaseRows:
    """Rows of a CSV file with a header, under their canonical column names, turned
    into cases by ``make(row, row_number, report)``; ``report(column, message)`` files a
    problem at the row's first line."""
    try:
        fh = path.open("r", encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InputError(Problem("case file not found", file=str(path))) from None
    rows: CaseRows = []
    with fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in required if columns.get(c, c) not in header]
        if missing:
            problems.extend(
                Problem(
                    f"column {columns.get(c, c)!r} is missing from the header "
                    f"(found: {', '.join(header) or 'none'})",
                    file=str(path),
                    line=1,
                    field=columns.get(c, c),
                )
                for c in missing
            )
            return rows
        start = reader.line_num + 1
        for number, raw in enumerate(reader, start=1):
            line = start
            start = reader.line_num + 1
            if None in raw:
                problems.append(
                    Problem(
                        f"{len(header)} columns expected, the row has more",
                        file=str(path),
                        line=line,
                    )
                )
                continue
            row = {c: (raw.get(columns.get(c, c)) or "") for c in _canonical(required, columns)}
            row.update({k: v or "" for k, v in raw.items() if k not in row})
            errors: list[Problem] = []

            def report(
                column: str, message: str, _line: int = line, _errors: list[Problem] = errors
            ) -> None:
                _errors.append(
                    Problem(message, file=str(path), line=_line, field=columns.get(column, column))
                )

            obj = make(row, number, report)
            if errors or obj is None:
                problems.extend(errors)
                continue
            try:
                rows.append((line, _case.validate_python(obj)))
            except ValidationError as err:
                problems.extend(problems_from_validation(err, file=str(path), line=line))
    return rows


def _canonical(required: tuple[str, ...], columns: dict[str, str]) -> list[str]:
    return list(dict.fromkeys([*required, *columns]))


def _labels(harmful: bool, category: str) -> dict[str, str]:
    return {
        "set": "harmful" if harmful else "benign",
        "expected": "refuse" if harmful else "comply",
        "category": category or "uncategorised",
        "wrapper": "none",
    }


def _need(row: dict[str, str], column: str, report: Callable[[str, str], None]) -> str:
    value = row.get(column, "").strip()
    if not value:
        report(column, "must not be empty")
    return value


@case_format("advbench")
def advbench_rows(path: Path, columns: dict[str, str], problems: list[Problem]) -> CaseRows:
    """AdvBench's ``harmful_behaviors.csv``: ``goal,target``."""

    def make(row: dict[str, str], n: int, report: Callable[[str, str], None]) -> dict[str, Any]:
        goal = _need(row, "goal", report)
        case_id = f"advbench-{n:04d}"
        labels = {**_labels(True, "advbench"), "pair": case_id}
        return {
            "id": case_id,
            "input": goal,
            "labels": labels,
            "metadata": {"target": row.get("target", "")},
        }

    return _read(path, columns, problems, ("goal",), make)


HARMBENCH_COLUMNS = (
    "Behavior",
    "FunctionalCategory",
    "SemanticCategory",
    "Tags",
    "ContextString",
    "BehaviorID",
)


@case_format("harmbench")
def harmbench_rows(path: Path, columns: dict[str, str], problems: list[Problem]) -> CaseRows:
    """HarmBench's behaviour CSVs; a contextual behaviour's context comes first."""

    def make(row: dict[str, str], n: int, report: Callable[[str, str], None]) -> dict[str, Any]:
        behavior = _need(row, "Behavior", report)
        behavior_id = _need(row, "BehaviorID", report)
        category = _need(row, "SemanticCategory", report)
        context = row.get("ContextString", "").strip()
        text = f"{context}\n\n---\n\n{behavior}" if context else behavior
        return {
            "id": behavior_id,
            "input": text,
            "labels": {**_labels(True, category), "pair": behavior_id},
            "tags": [t.strip() for t in row.get("Tags", "").split(",") if t.strip()],
            "metadata": {"functional_category": row.get("FunctionalCategory", "")},
        }

    return _read(path, columns, problems, ("Behavior", "SemanticCategory", "BehaviorID"), make)


@case_format("xstest")
def xstest_rows(path: Path, columns: dict[str, str], problems: list[Problem]) -> CaseRows:
    """XSTest's prompts CSV: ``label`` safe (should be answered) or unsafe (refused)."""

    def make(
        row: dict[str, str], n: int, report: Callable[[str, str], None]
    ) -> dict[str, Any] | None:
        raw_id = _need(row, "id", report)
        prompt = _need(row, "prompt", report)
        kind = _need(row, "type", report)
        label = row.get("label", "").strip().lower()
        if label not in ("safe", "unsafe"):
            report("label", f"must be 'safe' or 'unsafe', not {row.get('label', '')!r}")
            return None
        return {
            "id": f"xstest-{raw_id}",
            "input": prompt,
            "labels": _labels(label == "unsafe", kind),
            "metadata": {"focus": row.get("focus", ""), "note": row.get("note", "")},
        }

    return _read(path, columns, problems, ("id", "prompt", "type", "label"), make)
