"""A judge fills in the same blind sheet the humans rated, so its agreement with
them can be measured before anyone trusts it alone."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, Problem, atomic_write_text


def review_with_judge(
    export_dir: str | Path,
    judge: Any,
    rubric: str,
    out_path: str | Path,
    *,
    swap: bool = True,
) -> Path:
    """Let a judge System rate the sheet in ``export_dir`` like a rater would (it
    sees only the blind sheet, never the key); its CSV goes to ``import_review``'s
    ``judge_files``. A verdict that flips with the order is rated a tie, and the
    comment column says whether each verdict held when the answers swapped places."""
    from finegate.harness.judge import judge_pairwise

    sheet_csv = Path(export_dir) / "review.csv"
    try:
        rows = list(csv.DictReader(io.StringIO(sheet_csv.read_text("utf-8"))))
    except OSError as e:
        raise InputError(Problem(f"cannot read the sheet: {e}", file=str(sheet_csv))) from None
    verdicts = judge_pairwise(
        judge, rubric, [(r["prompt"], r["left"], r["right"]) for r in rows], swap=swap
    )
    name = f"judge:{judge.fingerprint()[:12]}"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["sheet", "item", "rater", "rating", "comment"])
    for row, v in zip(rows, verdicts, strict=True):
        rating = {"A": "left", "B": "right", "tie": "tie"}.get(v.winner or "", "")
        writer.writerow([row["sheet"], row["item"], name, rating, v.error or _swap_note(v)])
    atomic_write_text(out_path, buf.getvalue())
    return Path(out_path)


def _swap_note(verdict: Any) -> str:
    """Whether the verdict held when the answers swapped places: preference data
    built from a judge's sheet keeps only the pairs that did."""
    if verdict.consistent is None:
        return ""
    return "swap-consistent" if verdict.consistent else "swap-inconsistent"
