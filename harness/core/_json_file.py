"""Reading a JSON file whose every failure names the file (and line, when it can)."""

from __future__ import annotations

import json
import os
from typing import Any

from finegate.harness.core._errors import InputError, Problem


def read_json_file(path: str | os.PathLike[str], *, what: str = "JSON file") -> Any:
    """The JSON value in ``path``. ``what`` names the file in errors (``review key
    not found``); a syntax error gives its line and column."""
    p = os.fspath(path)
    try:
        with open(p, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise InputError(Problem(f"{what} not found", file=p)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(Problem(f"cannot read {what}: {e}", file=p)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(
            Problem(f"not JSON: {e.msg} (column {e.colno})", file=p, line=e.lineno)
        ) from None
