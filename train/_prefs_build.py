"""Preference data from finegate's own evidence (``finegate prefs build``).

finegate already collects what preference tuning needs, and this turns it into
the standard forms the ``dpo`` and ``kto`` trainers read:

- **blind review**: a review run (``finegate review import``): for each item the
  raters' majority preferred one side of, the preferred answer is ``chosen``
  and the other ``rejected``; ties are left out;
- **a judge's sheet**: the ratings ``review_with_judge`` wrote on a blind
  sheet, counted only where the judge agreed with itself after the position
  swap (comment ``swap-consistent``): a verdict that follows the position says
  nothing about the answers;
- **scored answers against a reference**: runs that answered the same cases
  (an SFT model's own samples, say), scored by a per-case 0/1 metric against
  the suite's reference (``category`` accuracy, exact match): paired, one
  answer that scored 1 as ``chosen`` against one that scored 0; unpaired (KTO),
  every answer as ``completion`` with ``label`` its score.

Every row carries its origin as provenance (which run, case and raters or
judge), so the preference data's manifest says where each pair came from.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, Problem, atomic_write_text, sha256_json
from finegate.harness.store import Store

SWAP_CONSISTENT = "swap-consistent"


def _prompt(record: dict[str, Any]) -> Any:
    """The prompt a run recorded: chat messages, or text."""
    request = record.get("request") or {}
    prompt = request.get("prompt", request.get("context"))
    if prompt is None:
        raise InputError(
            f"case {record['case_id']} of run {record['run_id']}: no generation prompt recorded"
        )
    return prompt


def _records(store: Store, run_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["suite_id"], r["case_id"]): {**r, "run_id": run_id} for r in store.records(run_id)}


def _pair(prompt: Any, chosen: str, rejected: str, origin: dict[str, Any]) -> dict[str, Any] | None:
    if chosen.strip() == rejected.strip():
        return None  # the same answer on both sides teaches nothing
    return {
        "prompt": prompt,
        "chosen": chosen,
        "rejected": rejected,
        "source": f"finegate:{origin['from']}",
        "provenance": origin,
    }


def from_review(store: Store, review_run: str) -> list[dict[str, Any]]:
    """Pairs from a review run: the raters' majority winner is ``chosen``."""
    run = store.get_run(review_run)
    if run["kind"] != "review":
        raise InputError(f"run {run['id']} is of kind {run['kind']!r}, not a review")
    candidate = _records(store, run["system"]["candidate_run"])
    baseline = _records(store, run["system"]["baseline_run"])
    out = []
    for r in store.records(run["id"]):
        consensus = r["output"]["consensus"]
        if consensus not in ("A", "B"):
            continue
        key = (r["request"]["suite_id"], r["request"]["case_id"])
        if key not in candidate or key not in baseline:
            raise InputError(
                f"review item {r['case_id']}: case {key[1]} is no longer in both reviewed runs"
            )
        win, lose = (candidate, baseline) if consensus == "B" else (baseline, candidate)
        origin = {
            "from": "review",
            "review_run": run["id"],
            "item": r["case_id"],
            "suite": key[0],
            "case": key[1],
            "ratings": r["output"]["ratings"],
            "chosen_run": win[key]["run_id"],
            "rejected_run": lose[key]["run_id"],
        }
        pair = _pair(
            _prompt(win[key]), win[key]["output"]["text"], lose[key]["output"]["text"], origin
        )
        if pair:
            out.append(pair)
    return out


def from_judge_sheet(
    store: Store, key_path: str | Path, ratings_path: str | Path
) -> list[dict[str, Any]]:
    """Pairs from a judge's ratings of a blind sheet, where it agreed with itself
    after the position swap."""
    from finegate.harness.review import load_key

    key = load_key(key_path)
    p = Path(ratings_path)
    try:
        rows = list(csv.DictReader(io.StringIO(p.read_text("utf-8"))))
    except OSError as e:
        raise InputError(Problem(f"cannot read: {e.strerror or e}", file=str(p))) from None
    runs = {side: _records(store, key[side]["id"]) for side in ("baseline", "candidate")}
    out = []
    for line, row in enumerate(rows, start=2):
        if row.get("comment", "").strip() != SWAP_CONSISTENT or row.get("rating") not in (
            "left",
            "right",
        ):
            continue
        item = key["items"].get(row.get("item", ""))
        if item is None:
            raise InputError(Problem(f"unknown item {row.get('item')!r}", file=str(p), line=line))
        left_is = item["left"]  # "A" (the baseline) or "B" (the candidate) shown on the left
        won = left_is if row["rating"] == "left" else {"A": "B", "B": "A"}[left_is]
        winner = "candidate" if won == "B" else "baseline"
        loser = "baseline" if winner == "candidate" else "candidate"
        case = (item["suite_id"], item["case_id"])
        origin = {
            "from": "judge",
            "judge": row.get("rater", ""),
            "sheet": key["sheet"],
            "item": row.get("item"),
            "suite": case[0],
            "case": case[1],
            "chosen_run": key[winner]["id"],
            "rejected_run": key[loser]["id"],
        }
        win, lose = runs[winner][case], runs[loser][case]
        pair = _pair(_prompt(win), win["output"]["text"], lose["output"]["text"], origin)
        if pair:
            out.append(pair)
    return out


def _scored(
    store: Store, runs: Sequence[str], metric: str
) -> dict[tuple[str, str], list[tuple[dict[str, Any], float]]]:
    by_case: dict[tuple[str, str], list[tuple[dict[str, Any], float]]] = {}
    for ref in runs:
        run = store.get_run(ref)
        found = False
        for r in _records(store, run["id"]).values():
            score = r["scores"].get(metric)
            if score is None:
                continue
            if score not in (0.0, 1.0):
                raise InputError(
                    f"run {run['id']}: {metric} is not a 0/1 score (case {r['case_id']}: "
                    f"{score}); name a per-case score against the reference"
                )
            found = True
            by_case.setdefault((r["suite_id"], r["case_id"]), []).append((r, score))
        if not found:
            raise InputError(f"run {run['id']} has no per-case score {metric!r}")
    return by_case


def from_scores(
    store: Store,
    runs: Sequence[str],
    metric: str,
    *,
    unpaired: bool = False,
    seed: int = 0,
    pairs_per_case: int = 1,
) -> list[dict[str, Any]]:
    """From answers scored against the reference: paired (a right and a wrong
    answer to the same case, up to ``pairs_per_case`` distinct such pairs, drawn
    at random) or unpaired (each answer and whether it was right).

    Several pairs per case get more signal from a few prompts sampled many
    times; they share a prompt, so the split by prompt keeps them together."""
    if pairs_per_case < 1:
        raise InputError(f"pairs per case must be at least 1, not {pairs_per_case}")
    rng = random.Random(seed)
    out = []
    for (suite, case), answers in sorted(_scored(store, runs, metric).items()):
        if unpaired:
            seen: set[str] = set()
            for r, score in answers:
                text = r["output"]["text"]
                if text in seen:
                    continue
                seen.add(text)
                origin = {
                    "from": "scores",
                    "run": r["run_id"],
                    "suite": suite,
                    "case": case,
                    "metric": metric,
                }
                out.append(
                    {
                        "prompt": _prompt(r),
                        "completion": text,
                        "label": score == 1.0,
                        "source": "finegate:scores",
                        "provenance": origin,
                    }
                )
            continue
        right = _distinct([r for r, s in answers if s == 1.0])
        wrong = _distinct([r for r, s in answers if s == 0.0])
        combos = [(w, lo) for w in right for lo in wrong]
        for win, lose in rng.sample(combos, min(pairs_per_case, len(combos))):
            origin = {
                "from": "scores",
                "suite": suite,
                "case": case,
                "metric": metric,
                "chosen_run": win["run_id"],
                "rejected_run": lose["run_id"],
            }
            pair = _pair(_prompt(win), win["output"]["text"], lose["output"]["text"], origin)
            if pair:
                out.append(pair)
    return out


def _distinct(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per answer text: two samples that wrote the same answer are
    one answer, not two pairs."""
    seen: dict[str, dict[str, Any]] = {}
    for r in records:
        seen.setdefault(r["output"]["text"], r)
    return list(seen.values())


def write_preferences(rows: Sequence[dict[str, Any]], out: str | Path) -> dict[str, Any]:
    """The rows as JSONL (atomically), and what was written."""
    if not rows:
        raise InputError("no preference rows came out of the evidence given: nothing written")
    forms = {"unpaired" if "completion" in r else "paired" for r in rows}
    if len(forms) > 1:
        raise InputError("paired and unpaired rows cannot share a file: build them into two files")
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    atomic_write_text(out, text)
    origins: dict[str, int] = {}
    for r in rows:
        origins[r["provenance"]["from"]] = origins.get(r["provenance"]["from"], 0) + 1
    return {"path": str(out), "rows": len(rows), "form": forms.pop(), "origins": origins,
            "sha256": sha256_json([json.loads(line) for line in text.splitlines()])}  # fmt: skip
