"""Blind human review: A/B preference sheets, their ratings, and what they say.

``export_review`` pairs the answers of two runs (a baseline and a candidate) case
by case and writes a sheet for raters: a CSV and a self-contained HTML form
(inline script, no network) that saves the ratings as a CSV. Which run is shown
on the left is drawn per item from the seed, and the key that says so is written
to a separate file, kept away from the raters.

``import_review`` reads one or more raters' CSVs back (every bad row reported
with file, line and field), unblinds them with the key and stores the result as
a run of kind ``review`` whose metrics a gate can hold:

- ``win`` / ``tie`` / ``loss``: the share of items where the raters' majority
  preferred the candidate, neither, or the baseline (Wilson intervals);
- ``preference``: wins plus half the ties (bootstrap interval), the usual
  "win rate" with ties split;
- ``agreement.cohen_kappa`` (two raters) or ``agreement.fleiss_kappa`` (three
  or more), with a bootstrap interval over items;
- ``judge.kappa`` and ``judge.agreement`` when a judge's ratings of the same
  sheet are given (``review_with_judge`` writes them): how well the judge
  agrees with the human majority.

The review run carries the candidate's fingerprint, so a verdict on it counts
for that model.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finegate.harness.compare import shared_suites
from finegate.harness.core import (
    InputError,
    Problem,
    atomic_write_text,
    last_turn_text,
    sha256_json,
)
from finegate.harness.review._form import ReviewItem, review_form
from finegate.harness.store import Store

SUITE_ID = "review"


@dataclass(frozen=True)
class ReviewExport:
    sheet: str
    items: list[ReviewItem]
    csv_path: Path
    html_path: Path
    key_path: Path


def _paired_items(
    store: Store, run_a: dict[str, Any], run_b: dict[str, Any], suites: Sequence[str] | None
) -> list[tuple[str, str, str, str, str]]:
    """(suite, case, prompt, answer A, answer B) for every case both runs answered."""
    shared = shared_suites(run_a, run_b, only=suites, purpose="to review")
    out = []
    for suite in shared:
        b_records = {r["case_id"]: r for r in store.records(run_b["id"], suite)}
        for ra in store.records(run_a["id"], suite):
            rb = b_records.get(ra["case_id"])
            if rb is None:
                continue
            prompt = ra["request"].get("prompt", ra["request"].get("context"))
            out.append(
                (
                    suite,
                    ra["case_id"],
                    last_turn_text(prompt),
                    str(ra["output"].get("text", "")),
                    str(rb["output"].get("text", "")),
                )
            )
    return out


def export_review(
    store: Store,
    baseline: str,
    candidate: str,
    out_dir: str | Path,
    *,
    key_path: str | Path | None = None,
    seed: int = 0,
    suites: Sequence[str] | None = None,
    limit: int | None = None,
) -> ReviewExport:
    """Write ``review.csv`` and ``review.html`` into ``out_dir`` and the key to
    ``key_path`` (default: ``<out_dir>.key.json`` beside the folder, not in it).
    ``limit`` samples that many items (seeded) when the runs share more."""
    run_a, run_b = store.get_run(baseline), store.get_run(candidate)
    pairs = _paired_items(store, run_a, run_b, suites)
    rng = random.Random(seed)
    if limit is not None and limit < len(pairs):
        pairs = sorted(rng.sample(pairs, limit), key=lambda p: (p[0], p[1]))
    order = list(range(len(pairs)))
    rng.shuffle(order)
    sheet = sha256_json(
        {"a": run_a["id"], "b": run_b["id"], "seed": seed, "items": [p[:2] for p in pairs]}
    )[:12]
    items = []
    width = len(str(len(pairs)))
    for n, i in enumerate(order, start=1):
        suite, case, prompt, a, b = pairs[i]
        left_is = "A" if rng.random() < 0.5 else "B"
        left, right = (a, b) if left_is == "A" else (b, a)
        item = f"q{n:0{width}d}"  # a letter first: spreadsheets keep it as text
        items.append(ReviewItem(item, suite, case, prompt, left, right, left_is))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    key = Path(key_path) if key_path else out.parent / f"{out.name}.key.json"
    if key.resolve().parent == out.resolve():
        raise InputError(
            Problem("the key must not sit in the folder handed to raters", file=str(key))
        )
    csv_path, html_path = out / "review.csv", out / "review.html"
    atomic_write_text(csv_path, _sheet_csv(sheet, items))
    atomic_write_text(html_path, review_form(sheet, items))
    key_data = {
        "sheet": sheet,
        "seed": seed,
        "baseline": {k: run_a[k] for k in ("id", "label", "system_name", "fingerprint")},
        "candidate": {k: run_b[k] for k in ("id", "label", "system_name", "fingerprint")},
        "items": {
            it.item: {"suite_id": it.suite_id, "case_id": it.case_id, "left": it.left_is}
            for it in items
        },
    }
    atomic_write_text(key, json.dumps(key_data, indent=2, sort_keys=True) + "\n")
    return ReviewExport(sheet, items, csv_path, html_path, key)


def _sheet_csv(sheet: str, items: Sequence[ReviewItem]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["sheet", "item", "prompt", "left", "right", "rating", "rater", "comment"])
    for it in items:
        writer.writerow([sheet, it.item, it.prompt, it.left, it.right, "", "", ""])
    return buf.getvalue()
