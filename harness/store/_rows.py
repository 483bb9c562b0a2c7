"""Rows to and from JSON text, and the ids and times the store stamps on them."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def null_if_nan(x: float) -> float | None:
    return None if x != x else x  # NaN is stored as NULL


def nan_if_null(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def run_from_row(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "run_key": row["run_key"],
        "label": row["label"],
        "kind": row["kind"],
        "status": row["status"],
        "created_at": row["created_at"],
        "finished_at": row["finished_at"],
        "system_name": row["system_name"],
        "fingerprint": row["fingerprint"],
        "system": from_json(row["system_json"]),
        "suites": from_json(row["suites_json"]),
        "environment": from_json(row["environment_json"]),
        "options": from_json(row["options_json"]),
        "timings": from_json(row["timings_json"]),
    }
