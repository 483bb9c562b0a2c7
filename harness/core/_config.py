"""Reading YAML and JSONL into validated models, with every error located.

pydantic reports *what* is wrong as a path of keys (``scorers.0.name``); the
YAML node tree knows *where* each key is. Joining the two gives
``suite.yaml:12: scorers[0].name: ...`` for every problem at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from finegate.harness.core._errors import InputError, Problem

M = TypeVar("M", bound=BaseModel)


def format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest node on ``loc`` that exists in the document.

    Parts of ``loc`` that are not in the document (pydantic's union tags, say)
    are stepped over, so the line stays as precise as the document allows."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    child = value_node
                    line = key_node.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is not None:
            node = child
    return line


def problems_from_validation(
    err: ValidationError,
    *,
    file: str,
    node: yaml.Node | None = None,
    line: int | None = None,
    prefix: tuple[Any, ...] = (),
) -> list[Problem]:
    """``prefix`` locates a block validated on its own (a recipe's ``config:``)."""
    problems = []
    for e in err.errors():
        loc = prefix + tuple(
            p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        msg = e["msg"]
        if e["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            msg = "unknown field"
        elif e["type"] == "missing":
            msg = "required field is missing"
        where = line if node is None else line_of(node, loc)
        problems.append(Problem(msg, file=file, line=where, field=format_loc(loc) or None))
    return problems


def read_yaml(path: str | Path) -> tuple[Any, yaml.Node | None]:
    """Parse a YAML file; return its data and its node tree (for line numbers)."""
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError:
        raise InputError(Problem("file not found", file=str(p))) from None
    except UnicodeDecodeError as e:
        raise InputError(Problem(f"not UTF-8 text ({e.reason})", file=str(p))) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        line = mark.line + 1 if mark else None
        raise InputError(Problem(f"invalid YAML: {e.problem}", file=str(p), line=line)) from None
    return data, node


def parse_yaml_model(path: str | Path, model: type[M]) -> tuple[M, yaml.Node | None]:
    """Load a YAML file into a pydantic model and keep its node tree, so that
    later checks can name lines too. Every validation problem is reported at once."""
    data, node = read_yaml(path)
    if not isinstance(data, dict):
        raise InputError(Problem("expected a mapping at the top level", file=str(path), line=1))
    try:
        return model.model_validate(data), node
    except ValidationError as err:
        raise InputError(problems_from_validation(err, file=str(path), node=node)) from None


def load_yaml_model(path: str | Path, model: type[M]) -> M:
    return parse_yaml_model(path, model)[0]


def jsonl_objects(
    path: str | Path, problems: list[Problem]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-empty line of a JSONL file; a line that
    is not a JSON object is reported into ``problems`` and skipped."""
    p = Path(path)
    try:
        fh = p.open("r", encoding="utf-8")
    except FileNotFoundError:
        raise InputError(Problem("file not found", file=str(p))) from None
    with fh:
        try:
            for lineno, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError as e:
                    problems.append(
                        Problem(
                            f"invalid JSON: {e.msg} (column {e.colno})", file=str(p), line=lineno
                        )
                    )
                    continue
                if not isinstance(obj, dict):
                    problems.append(Problem("expected a JSON object", file=str(p), line=lineno))
                    continue
                yield lineno, obj
        except UnicodeDecodeError as e:
            problems.append(Problem(f"not UTF-8 text ({e.reason})", file=str(p)))


def read_jsonl(
    path: str | Path,
    adapter: TypeAdapter[Any],
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    problems: list[Problem] | None = None,
) -> list[tuple[int, Any]]:
    """Read a JSONL file into ``(line number, validated item)`` pairs.

    Every bad line is reported, not just the first: into ``problems`` when the
    caller collects them with its own checks, else as one ``InputError``.
    """
    collect = problems
    problems = [] if collect is None else collect
    items: list[tuple[int, Any]] = []
    for lineno, obj in jsonl_objects(path, problems):
        try:
            items.append((lineno, adapter.validate_python(transform(obj) if transform else obj)))
        except ValidationError as err:
            problems.extend(problems_from_validation(err, file=str(path), line=lineno))
    if problems and collect is None:
        raise InputError(problems)
    return items
