"""The key that unblinds a sheet, and raters' CSVs read back with every bad row
reported by file, line and field."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, Problem, read_json_file

RATINGS = {"left": "left", "l": "left", "right": "right", "r": "right", "tie": "tie", "t": "tie"}

CATEGORIES = ("A", "B", "tie")  # A: the baseline preferred, B: the candidate preferred


@dataclass(frozen=True)
class Rating:
    rater: str
    item: str
    choice: str  # "A", "B" or "tie" (unblinded)
    file: str
    line: int


def load_key(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    key = read_json_file(p, what="review key")
    if not isinstance(key, dict):
        raise InputError(Problem("a review key is a JSON object", file=str(p)))
    problems = [
        Problem(f"missing {k!r}", file=str(p), field=k)
        for k in ("sheet", "baseline", "candidate", "items")
        if k not in key
    ]
    if problems:
        raise InputError(problems)
    return dict(key)


def read_ratings(paths: Sequence[str | Path], key: dict[str, Any]) -> list[Rating]:
    """Every rating in the files, unblinded; all problems at once, located."""
    problems: list[Problem] = []
    ratings: list[Rating] = []
    seen: dict[tuple[str, str], tuple[str, int]] = {}
    for path in paths:
        p = Path(path)
        try:
            text = p.read_text("utf-8-sig")
        except OSError as e:
            problems.append(Problem(f"cannot read: {e.strerror or e}", file=str(p)))
            continue
        reader = csv.DictReader(io.StringIO(text))
        columns = [c.strip().lower() for c in reader.fieldnames or []]
        missing = [c for c in ("item", "rating") if c not in columns]
        if missing:
            problems.append(
                Problem(f"missing column(s): {', '.join(missing)}", file=str(p), line=1)
            )
            continue
        for row in reader:
            line = reader.line_num
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            item = row.get("item", "")
            where = {"file": str(p), "line": line}
            if row.get("sheet") and row["sheet"] != key["sheet"]:
                problems.append(
                    Problem(
                        f"row of sheet {row['sheet']!r}, but the key is for {key['sheet']!r}",
                        field="sheet",
                        **where,
                    )
                )
                continue
            if item not in key["items"]:
                problems.append(Problem(f"unknown item {item!r}", field="item", **where))
                continue
            raw = row.get("rating", "")
            if raw == "":
                continue  # not rated (yet)
            rating = RATINGS.get(raw.lower())
            if rating is None:
                problems.append(
                    Problem(f"rating {raw!r} is not left, right or tie", field="rating", **where)
                )
                continue
            rater = row.get("rater") or p.stem
            if (rater, item) in seen:
                f, ln = seen[(rater, item)]
                problems.append(
                    Problem(
                        f"rater {rater!r} rated item {item} twice (first at {f}:{ln})",
                        field="item",
                        **where,
                    )
                )
                continue
            seen[(rater, item)] = (str(p), line)
            left_is = key["items"][item]["left"]
            choice = "tie" if rating == "tie" else left_is if rating == "left" else _other(left_is)
            ratings.append(Rating(rater, item, choice, str(p), line))
    if problems:
        raise InputError(problems)
    return ratings


def _other(side: str) -> str:
    return "B" if side == "A" else "A"
