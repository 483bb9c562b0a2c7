"""Evaluation on Ray: N model replicas as actors, each running one of N shards
into the shared store (``finegate eval --executor ray[:ADDRESS] --replicas N``).

The replicas are ordinary shards (``RunOptions.shard``): they join one run, and
the last one in computes the metrics, so the result equals a single process's.
Ray only places the actors and carries the shard numbers; the model spec, the
suite references and the store URL travel as plain data, and every replica
loads the model and resolves the suites itself. On a cluster, the suites and
the adapter must be readable from every node, and the store must be a server
database (PostgreSQL) every node reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from typing import Any

from finegate.harness.core import InputError
from finegate.harness.run._runner import RunOptions, RunResult
from finegate.harness.store import Store


def _replica_class() -> Any:
    import ray

    @ray.remote
    class Replica:
        """One copy of the model, in its own process."""

        def __init__(self, spec: dict[str, Any]):
            from finegate.harness.system import SystemSpec, build_system

            self.system = build_system(SystemSpec.model_validate(spec))

        def run(self, suite_refs: list[str], store: str, options: dict[str, Any]) -> dict[str, Any]:
            from finegate.harness.run._runner import run_suites
            from finegate.harness.suite import resolve_suite

            options["shard"] = tuple(options["shard"])
            result = run_suites(
                self.system,
                [resolve_suite(r) for r in suite_refs],
                Store(store),
                RunOptions(**options),
            )
            return {
                "run_id": result.run_id,
                "complete": result.complete,
                "cases_in": result.cases_in,
                "cases_total": result.cases_total,
            }

    return Replica


def run_on_ray(
    spec: Any,
    suite_refs: Sequence[str],
    store: Store,
    options: RunOptions,
    *,
    replicas: int,
    address: str | None = None,
    on_shard: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Evaluate with ``replicas`` actors on the Ray cluster at ``address`` (a new
    local instance when None); the run's result once every shard is in."""
    try:
        import ray
    except ImportError:
        raise InputError(
            "the Ray executor needs ray: pip install 'finegate[ray]'", field="--executor"
        ) from None
    if store.path is not None and address:
        raise InputError(
            f"{store.location}: replicas on a Ray cluster need a store every node reaches: "
            "give --store a PostgreSQL URL",
            field="--store",
        )
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=address,
            include_dashboard=False,
            logging_level="ERROR",
            log_to_driver=False,
            configure_logging=False,
        )
    try:
        replica = _replica_class()
        actors = [replica.remote(spec.model_dump()) for _ in range(replicas)]
        base = asdict(replace(options, progress=False))
        refs = list(suite_refs)
        pending = [
            actor.run.remote(refs, store.location, {**base, "shard": (k + 1, replicas)})
            for k, actor in enumerate(actors)
        ]
        done: list[dict[str, Any]] = []
        while pending:
            ready, pending = ray.wait(pending)
            done += ray.get(ready)
            if on_shard:
                on_shard(len(done), replicas)
    finally:
        if started_here:
            ray.shutdown()
    finished = [d for d in done if d["complete"]]
    if not finished:
        raise InputError(f"the run {done[0]['run_id']} did not complete: a shard left cases out")
    run_id = finished[0]["run_id"]
    info = store.get_run(run_id)
    return RunResult(
        run_id=run_id,
        resumed=False,
        metrics=store.metrics(run_id),
        timings={**(info.get("timings") or {}), "replicas": replicas},
        complete=True,
        cases_in=finished[0]["cases_in"],
        cases_total=finished[0]["cases_total"],
    )
