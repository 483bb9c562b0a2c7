"""Raters' CSVs unblinded and summed up: win, tie and loss rates, the win rate
with ties split, agreement between raters, and a judge's agreement with the
human majority; stored as a run of kind ``review``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from finegate.harness.core import (
    InputError,
    MetricValue,
    Problem,
    sha256_file,
    sha256_json,
    sha256_text,
)
from finegate.harness.review._ratings import CATEGORIES, Rating, load_key, read_ratings
from finegate.harness.review._sheets import SUITE_ID
from finegate.harness.scorer import compute_metrics
from finegate.harness.stats import (
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    cohen_kappa,
    fleiss_kappa,
    percentile_interval,
)
from finegate.harness.store import Store


def _bootstrap_kappa(
    fn: Any, n: int, level: float, resamples: int, seed: int
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    draws = np.array([fn(rng.integers(0, n, size=n)) for _ in range(resamples)], dtype=float)
    return percentile_interval(draws, level)


@dataclass(frozen=True)
class ReviewResult:
    run_id: str
    metrics: list[MetricValue]
    raters: list[str]
    rated_items: int
    unrated_items: int
    consensus: dict[str, str]


def _majority(choices: Sequence[str]) -> str:
    counts = Counter(choices)
    top = max(counts.values())
    leaders = [c for c in CATEGORIES if counts.get(c) == top]
    return leaders[0] if len(leaders) == 1 else "tie"


def import_review(
    store: Store,
    key_path: str | Path,
    rating_files: Sequence[str | Path],
    *,
    judge_files: Sequence[str | Path] = (),
    level: float = DEFAULT_LEVEL,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    label: str | None = None,
) -> ReviewResult:
    """Read the ratings, compute preference and agreement, store them as a run."""
    if not rating_files:
        raise InputError(Problem("no ratings file given", field="ratings"))
    key = load_key(key_path)
    ratings = read_ratings(rating_files, key)
    judge_ratings = read_ratings(judge_files, key) if judge_files else []
    raters = sorted({r.rater for r in ratings})
    by_item: dict[str, dict[str, str]] = {}
    for r in ratings:
        by_item.setdefault(r.item, {})[r.rater] = r.choice
    items = sorted(by_item)
    if not items:
        raise InputError(
            [Problem("no item is rated", file=str(f)) for f in rating_files],
            hint="fill in the rating column (left, right or tie)",
        )
    consensus = {item: _majority(list(by_item[item].values())) for item in items}
    records = []
    for position, item in enumerate(items):
        info = key["items"][item]
        choice = consensus[item]
        records.append(
            {
                "suite_id": SUITE_ID,
                "suite_hash": "",
                "case_id": item,
                "position": position,
                "request": {"suite_id": info["suite_id"], "case_id": info["case_id"]},
                "output": {"ratings": by_item[item], "consensus": choice},
                "scores": {
                    "win": float(choice == "B"),
                    "tie": float(choice == "tie"),
                    "loss": float(choice == "A"),
                    "preference": {"B": 1.0, "tie": 0.5, "A": 0.0}[choice],
                },
                "facts": {},
            }
        )
    metrics = compute_metrics(records, [], level=level, resamples=resamples, seed=seed)
    metrics += _rater_agreement(by_item, raters, level, resamples, seed)
    if judge_ratings:
        metrics += _judge_agreement(judge_ratings, consensus, level, resamples, seed)
    review_hash = sha256_json(
        {
            "key": sha256_file(key_path, use_cache=False),
            "ratings": sorted(sha256_file(f, use_cache=False) for f in rating_files),
            "judge": sorted(sha256_file(f, use_cache=False) for f in judge_files),
        }
    )
    for r in records:
        r["suite_hash"] = review_hash
    candidate, baseline = key["candidate"], key["baseline"]
    system = {
        "type": "review",
        "name": f"{candidate.get('system_name') or candidate['id']} vs "
        f"{baseline.get('system_name') or baseline['id']}",
        "fingerprint": candidate["fingerprint"],
        "candidate_run": candidate["id"],
        "baseline_run": baseline["id"],
        "baseline_fingerprint": baseline["fingerprint"],
        "sheet": key["sheet"],
        "raters": raters,
    }
    suite = {
        "id": SUITE_ID,
        "version": "1",
        "kind": "review",
        "hash": review_hash,
        "n_cases": len(key["items"]),
        "sheet": key["sheet"],
    }
    run_id = store.create_run(
        run_key=sha256_text(f"review:{review_hash}"),
        label=label,
        kind="review",
        system=system,
        suites=[suite],
        environment={},
        options={"level": level, "resamples": resamples, "seed": seed},
    )
    store.add_records(run_id, records)
    store.save_metrics(run_id, SUITE_ID, review_hash, metrics)
    store.finish_run(run_id, status="complete", timings={})
    return ReviewResult(
        run_id, metrics, raters, len(items), len(key["items"]) - len(items), consensus
    )


def _rater_agreement(
    by_item: dict[str, dict[str, str]], raters: list[str], level: float, resamples: int, seed: int
) -> list[MetricValue]:
    if len(raters) < 2:
        return []
    common = [i for i in sorted(by_item) if all(r in by_item[i] for r in raters)]
    if len(common) < 2:
        return []
    method = f"bootstrap-percentile(resamples={resamples},seed={seed})"
    if len(raters) == 2:
        a = [by_item[i][raters[0]] for i in common]
        b = [by_item[i][raters[1]] for i in common]
        value = cohen_kappa(a, b)
        lo, hi = _bootstrap_kappa(
            lambda idx: cohen_kappa([a[k] for k in idx], [b[k] for k in idx]),
            len(common),
            level,
            resamples,
            seed,
        )
        name = "agreement.cohen_kappa"
    else:
        table = np.array(
            [[sum(by_item[i][r] == c for r in raters) for c in CATEGORIES] for i in common]
        )
        value = fleiss_kappa(table)
        lo, hi = _bootstrap_kappa(
            lambda idx: fleiss_kappa(table[idx]), len(common), level, resamples, seed
        )
        name = "agreement.fleiss_kappa"
    return [MetricValue(name, value, len(common), lo, hi, level, method)]


def _judge_agreement(
    judge: list[Rating], consensus: dict[str, str], level: float, resamples: int, seed: int
) -> list[MetricValue]:
    from finegate.harness.stats import wilson_interval

    verdicts = {r.item: r.choice for r in judge}
    common = [i for i in sorted(consensus) if i in verdicts]
    if not common:
        return []
    h = [consensus[i] for i in common]
    j = [verdicts[i] for i in common]
    same = sum(x == y for x, y in zip(h, j, strict=True))
    lo, hi = wilson_interval(same, len(common), level)
    out = [MetricValue("judge.agreement", same / len(common), len(common), lo, hi, level, "wilson")]
    if len(common) >= 2:
        klo, khi = _bootstrap_kappa(
            lambda idx: cohen_kappa([h[k] for k in idx], [j[k] for k in idx]),
            len(common),
            level,
            resamples,
            seed,
        )
        out.append(
            MetricValue(
                "judge.kappa",
                cohen_kappa(h, j),
                len(common),
                klo,
                khi,
                level,
                f"bootstrap-percentile(resamples={resamples},seed={seed})",
            )
        )
    return out
