"""The response cache: an unchanged re-run against the first run's time, through
finegate's runner and store (the path ``finegate eval`` takes)."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks._model import BenchModel
from benchmarks._report import Result


def run(
    model: BenchModel, *, limit: int, batch_size: int, workdir: Path
) -> tuple[list[Result], str, Path]:
    from finegate.harness import Store
    from finegate.harness.run import RunOptions, run_suites
    from finegate.harness.suite import resolve_suite
    from finegate.harness.system import SystemSpec, build_system

    store_path = workdir / "bench.db"
    store = Store(store_path)
    suite = resolve_suite("regression/general")
    system = build_system(
        SystemSpec(model=str(model.path), dtype="float32", device="cpu", batch_size=batch_size)
    )
    start = time.perf_counter()
    first = run_suites(system, [suite], store, RunOptions(limit=limit, progress=False))
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    again = run_suites(
        system, [suite], store, RunOptions(limit=limit, progress=False, resume=False)
    )
    again_s = time.perf_counter() - start
    fraction = again_s / first_s
    detail = {
        "suite": "regression/general",
        "limit_per_task": limit,
        "cases": first.timings.get("computed", 0) + first.timings.get("cache_hits", 0),
        "first_s": first_s,
        "rerun_s": again_s,
        "rerun_computed": again.timings.get("computed"),
        "rerun_cache_hits": again.timings.get("cache_hits"),
        "same_metrics": again.metrics == first.metrics,
    }
    ok = fraction < 0.02 and again.timings.get("computed") == 0 and again.metrics == first.metrics
    result = Result(
        "cache", "unchanged re-run / first run", fraction, "of first", "< 0.02", ok, detail
    )
    return [result], first.run_id, store_path
