"""Answer drift: how a candidate's answers differ from the base model's.

Metrics say whether a fine-tune got worse on average; an engineer also needs to
see *which* known-good answers changed and *how*: grown or shrunk, turned into
a refusal, lost their format (JSON, list, code), or merely reworded. Run a
suite of everyday prompts on the base model once (its answers are the
reference) and on each candidate; this module pairs the answers by case.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from finegate.harness.compare._pairing import shared_suites
from finegate.harness.core import MetricValue, last_turn_text, sha256_json
from finegate.harness.stats import summarize
from finegate.harness.store import Store

LONGER, SHORTER = 1.5, 1 / 1.5

"""A length ratio beyond these counts as a real change of length, not rewording."""


DRIFT_METRICS = (
    "changed",
    "became_refusal",
    "format_changed",
    "much_longer",
    "much_shorter",
    "similarity",
)


_LIST_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+\S")


def answer_format(text: str) -> str:
    """The shape of an answer: ``json``, ``code``, ``list`` or ``plain``."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            json.loads(stripped)
            return "json"
        except ValueError:
            pass
    if "```" in stripped:
        return "code"
    if sum(1 for line in stripped.splitlines() if _LIST_LINE.match(line)) >= 2:
        return "list"
    return "plain"


@functools.lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


@dataclass(frozen=True)
class AnswerChange:
    suite_id: str
    case_id: str
    prompt: str
    base: str
    candidate: str
    changed: bool
    similarity: float  # ROUGE-L F1 between the two answers
    length_ratio: float  # candidate words / base words
    base_format: str
    candidate_format: str
    base_refused: bool
    candidate_refused: bool

    @property
    def kinds(self) -> tuple[str, ...]:
        """How the answer changed, in words a reviewer scans."""
        if not self.changed:
            return ()
        out = []
        if self.candidate_refused and not self.base_refused:
            out.append("became a refusal")
        if self.base_refused and not self.candidate_refused:
            out.append("stopped refusing")
        if self.base_format != self.candidate_format:
            out.append(f"format {self.base_format} -> {self.candidate_format}")
        if self.length_ratio >= LONGER:
            out.append(f"{self.length_ratio:.1f}x longer")
        elif self.length_ratio <= SHORTER:
            out.append(f"{1 / max(self.length_ratio, 1e-9):.1f}x shorter")
        return tuple(out) or ("reworded",)

    def scores(self) -> dict[str, float]:
        return {
            "changed": float(self.changed),
            "became_refusal": float(self.candidate_refused and not self.base_refused),
            "format_changed": float(self.base_format != self.candidate_format),
            "much_longer": float(self.length_ratio >= LONGER),
            "much_shorter": float(self.length_ratio <= SHORTER),
            "similarity": self.similarity,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kinds": list(self.kinds)}


@dataclass(frozen=True)
class Drift:
    run_a: dict[str, Any]
    run_b: dict[str, Any]
    changes: list[AnswerChange]
    metrics: dict[str, list[MetricValue]]  # by suite

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline_run": self.run_a["id"],
            "candidate_run": self.run_b["id"],
            "metrics": {k: [m.to_dict() for m in v] for k, v in self.metrics.items()},
            "changes": [c.to_dict() for c in self.changes if c.changed],
        }


def _change(suite_id: str, ra: dict[str, Any], rb: dict[str, Any]) -> AnswerChange:
    from finegate.harness.safety import pattern_refusal

    base, cand = ra["output"].get("text", ""), rb["output"].get("text", "")
    words_a, words_b = len(base.split()), len(cand.split())
    similarity = 1.0 if base == cand else _rouge().score(base, cand)["rougeL"].fmeasure
    return AnswerChange(
        suite_id=suite_id,
        case_id=ra["case_id"],
        prompt=last_turn_text(ra["request"].get("prompt", ra["request"].get("context"))),
        base=base,
        candidate=cand,
        changed=base.strip() != cand.strip(),
        similarity=float(similarity),
        length_ratio=(words_b + 1) / (words_a + 1),
        base_format=answer_format(base),
        candidate_format=answer_format(cand),
        base_refused=pattern_refusal(base),
        candidate_refused=pattern_refusal(cand),
    )


def answer_drift(store: Store, baseline_ref: str, candidate_ref: str, *, seed: int = 0) -> Drift:
    """Pair the two runs' answers by case on every generation suite they share."""
    run_a, run_b = store.get_run(baseline_ref), store.get_run(candidate_ref)
    infos_a = {s["id"]: s for s in run_a["suites"]}
    shared = shared_suites(run_a, run_b, skip_changed=True)
    changes: list[AnswerChange] = []
    metrics: dict[str, list[MetricValue]] = {}
    for suite_id in shared:
        level = float(infos_a[suite_id].get("confidence", 0.95))
        resamples = int(infos_a[suite_id].get("bootstrap_resamples", 2000))
        recs_b = {r["case_id"]: r for r in store.records(run_b["id"], suite_id)}
        mine = [
            _change(suite_id, ra, recs_b[ra["case_id"]])
            for ra in store.records(run_a["id"], suite_id)
            if ra["case_id"] in recs_b and "text" in ra["output"]
        ]
        if not mine:
            continue
        changes += mine
        metrics[suite_id] = [
            summarize(
                name,
                [c.scores()[name] for c in mine],
                level=level,
                resamples=resamples,
                seed=seed,
            )
            for name in DRIFT_METRICS
        ]
    return Drift(run_a, run_b, changes, metrics)


def save_drift(store: Store, drift: Drift) -> str:
    """Store a drift as a run (kind ``drift``): per case the kinds of change and
    both answers, per suite the rates with their intervals."""
    a, b = drift.run_a, drift.run_b
    run_key = sha256_json({"drift": [a["id"], b["id"]]})
    existing = store.find_complete(run_key)
    if existing is not None:
        return existing
    suite_ids = sorted({c.suite_id for c in drift.changes})
    suites = [s for s in a["suites"] if s["id"] in suite_ids]
    records = [
        {
            "suite_id": c.suite_id,
            "suite_hash": next(s["hash"] for s in suites if s["id"] == c.suite_id),
            "case_id": c.case_id,
            "position": i,
            "request": {"prompt": c.prompt},
            "output": {"text": c.candidate, "baseline": c.base, "kinds": list(c.kinds)},
            "scores": c.scores(),
            "facts": {},
        }
        for i, c in enumerate(drift.changes)
    ]
    run_id = store.create_run(
        run_key=run_key,
        label=f"drift {b['label'] or b['id']} vs {a['label'] or a['id']}",
        kind="drift",
        system={
            "type": "drift",
            "name": f"{b['system_name']} vs {a['system_name']}",
            "fingerprint": sha256_json(
                {"baseline": a["fingerprint"], "candidate": b["fingerprint"]}
            ),
            "baseline_run": a["id"],
            "candidate_run": b["id"],
        },
        suites=suites,
        environment={},
        options={},
    )
    store.add_records(run_id, records)
    for info in suites:
        store.save_metrics(run_id, info["id"], info["hash"], drift.metrics[info["id"]])
    store.finish_run(run_id, status="complete", timings={})
    return run_id
