"""The runner: one system on a set of suites, resumable and cached.

Cases are processed in chunks. Each chunk's records (request, output, scores)
and the new cache entries behind them are committed in one transaction, so a
run killed at any moment (even ``kill -9``) resumes from the last committed
chunk: the same command finds the unfinished run by its key (system
fingerprint, suite hashes, options) and carries on. Metrics are computed from
the stored records in suite order, never from what happened to be in memory,
so a resumed run's metrics equal an uninterrupted run's.

Responses are cached by (system fingerprint, execution key, request): an
unchanged re-run, or the same case in another suite, is answered from the store.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from finegate.harness.core import Case, MetricValue, sha256_json
from finegate.harness.run._answering import _Cached
from finegate.harness.run._environment import capture_environment
from finegate.harness.run._records import _records_of_cases, _records_of_lm_eval
from finegate.harness.scorer import compute_metrics
from finegate.harness.store import Store
from finegate.harness.suite import Suite
from finegate.harness.system import System, training_evidence


@dataclass(frozen=True)
class RunOptions:
    seed: int = 0
    limit: int | None = None
    label: str | None = None
    kind: str = "eval"
    chunk_size: int = 32
    use_cache: bool = True
    resume: bool = True
    progress: bool = True
    manifest: str | None = None  # a training manifest to bind to a system with no adapter
    shard: tuple[int, int] | None = None  # (K, N): the K-th of N slices of the cases, 1-based

    def key_fields(self) -> dict[str, Any]:
        """The options that change results (and so name a resumable run). Not the
        shard: every shard of an evaluation writes into the same run."""
        return {"seed": self.seed, "limit": self.limit, "label": self.label, "kind": self.kind}


@dataclass(frozen=True)
class RunResult:
    run_id: str
    resumed: bool
    metrics: dict[str, list[MetricValue]]
    timings: dict[str, Any] = field(default_factory=dict)
    complete: bool = True
    cases_in: int = 0  # for a shard: the cases of the whole run in the store so far
    cases_total: int = 0


ProgressCallback = Callable[[str, int, int], None]


def _select(suite: Suite, limit: int | None) -> list[Case]:
    """The cases a run evaluates: the first ``limit`` of the suite, or of each
    lm-eval task in a regression suite (as lm-eval's own ``--limit`` does)."""
    if not limit:
        return list(suite.cases)
    if suite.lm_eval is None:
        return list(suite.cases[:limit])
    taken: dict[str, int] = {}
    out = []
    for case in suite.cases:
        task = case.metadata["task"]
        if taken.get(task, 0) < limit:
            taken[task] = taken.get(task, 0) + 1
            out.append(case)
    return out


def shard_of(cases: Sequence[Case], shard: tuple[int, int] | None) -> list[Case]:
    """The K-th of N slices: every N-th case from the K-th, in suite order. The
    slices are disjoint, cover the suite, and depend on nothing but the suite, so
    any scheduler can run them (a Slurm array, a Kubernetes job)."""
    if shard is None:
        return list(cases)
    k, n = shard
    return [c for i, c in enumerate(cases) if i % n == k - 1]


class _LazyRun:
    """The run record is written with the first committed chunk, not before: a
    model that fails to load (a missing file, an adapter for another base) leaves
    nothing in the store. Its environment is captured then too, once the model
    has chosen its device."""

    def __init__(self, store: Store, resume_key: str | None, fields: Callable[[], dict[str, Any]]):
        self.store = store
        self.fields = fields
        self.id: str | None = store.find_unfinished(resume_key) if resume_key else None
        self.resumed = self.id is not None
        self.joins = resume_key is not None

    def ensure(self) -> str:
        if self.id is None:
            # joined in one transaction: shards that start at once share one run
            self.id = self.store.create_run(**self.fields(), join=self.joins)
        return self.id


def run_suites(
    system: System,
    suites: Sequence[Suite],
    store: Store,
    options: RunOptions = RunOptions(),
    on_progress: ProgressCallback | None = None,
) -> RunResult:
    """Run every suite on ``system``; resume an unfinished identical run if one exists."""
    random.seed(options.seed)
    started = time.perf_counter()
    description = system.describe()
    description["training"] = training_evidence(description, options.manifest)
    selected = {s.id: _select(s, options.limit) for s in suites}
    suite_info = [{**s.describe(), "n_cases": len(selected[s.id])} for s in suites]
    run_key = sha256_json(
        {
            "fingerprint": system.fingerprint(),
            "execution": system.execution_key(),
            "suites": [(s.id, s.hash) for s in suites],
            "training": description["training"].get("sha256"),
            **options.key_fields(),
        }
    )
    run = _LazyRun(
        store,
        run_key if options.resume else None,
        lambda: {
            "run_key": run_key,
            "label": options.label,
            "kind": options.kind,
            "system": description,
            "suites": suite_info,
            "environment": capture_environment(description, options.seed),
            "options": {**options.key_fields(), "chunk_size": options.chunk_size},
        },
    )
    answerer = _Cached(system, store, options.use_cache)
    suite_seconds: dict[str, float] = {}
    for suite in suites:
        t0 = time.perf_counter()
        cases = selected[suite.id]
        mine = shard_of(cases, options.shard)
        done = store.completed_case_ids(run.id, suite.id) if run.id else set()
        position = {c.id: i for i, c in enumerate(cases)}
        pending = [c for c in mine if c.id not in done]
        if on_progress:
            on_progress(suite.id, len(mine) - len(pending), len(mine))
        chunk_records = _records_of_lm_eval if suite.lm_eval is not None else _records_of_cases
        for start in range(0, len(pending), options.chunk_size):
            chunk = pending[start : start + options.chunk_size]
            records = chunk_records(suite, chunk, position, answerer, lambda: run.ensure())
            store.add_records(run.ensure(), records, answerer.take_pending())
            if on_progress:
                on_progress(suite.id, len(mine) - len(pending) + start + len(chunk), len(mine))
        suite_seconds[suite.id] = round(time.perf_counter() - t0, 3)
    run_id = run.ensure()
    timings = {
        "total_s": round(time.perf_counter() - started, 3),
        "suites_s": suite_seconds,
        "cache_hits": answerer.hits,
        "computed": answerer.misses,
        "resumed": run.resumed,
    }
    # checked after this process's last commit: the shard that commits last sees
    # every other shard's records, so exactly the last one (or a tie) finishes
    stored = {s.id: store.completed_case_ids(run_id, s.id) for s in suites}
    cases_in = sum(len(stored[s.id] & {c.id for c in selected[s.id]}) for s in suites)
    total = sum(len(selected[s.id]) for s in suites)
    if cases_in < total:
        return RunResult(run_id, run.resumed, {}, timings, False, cases_in, total)
    metrics: dict[str, list[MetricValue]] = {}
    for suite in suites:  # from the stored records, whichever process wrote them
        metrics[suite.id] = compute_metrics(
            store.records(run_id, suite.id),
            suite.scorers,
            level=suite.config.confidence,
            resamples=suite.config.bootstrap_resamples,
            seed=options.seed,
        )
        store.save_metrics(run_id, suite.id, suite.hash, metrics[suite.id])
    store.finish_run(run_id, status="complete", timings=timings)
    return RunResult(run_id, run.resumed, metrics, timings, True, cases_in, total)
