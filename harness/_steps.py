"""The pipeline steps harness owns: ``evaluate`` and ``register``."""

from __future__ import annotations

from typing import Any

from finegate.harness._pipeline import PipelineContext, step


def _open_store(context: PipelineContext) -> Any:
    from finegate.harness._store import Store

    return Store(context.get("store"))


@step("evaluate")
def evaluate(context: PipelineContext) -> dict[str, Any]:
    """The prompted baseline and every candidate on every suite the policy requires."""
    from finegate.harness._baseline import prompted_baseline
    from finegate.harness._hf import HFModel
    from finegate.harness._progress import progress_bar
    from finegate.harness._runner import RunOptions, run_suites
    from finegate.harness._suite import resolve_suite

    store = _open_store(context)
    suites = [resolve_suite(s) for s in context.get("suites")]
    base_model = context.get("base_model")
    limit = context.get("limit")
    baseline_system = HFModel(base_model)
    if len(suites) == 1:  # the suite's own baseline prompt, when it has one
        baseline_system = prompted_baseline(baseline_system, suites[0])
    runs: dict[str, str] = {}
    with progress_bar(enabled=context.get("progress") is not False) as update:
        baseline = run_suites(
            baseline_system,
            suites,
            store,
            RunOptions(limit=limit, label="pipeline-baseline", kind="baseline"),
            on_progress=update,
        )
        for recipe_id, adapter in context.get("adapters").items():
            candidate = HFModel(base_model, adapter=adapter)
            runs[recipe_id] = run_suites(
                candidate,
                suites,
                store,
                RunOptions(limit=limit, label=f"pipeline-{recipe_id}"),
                on_progress=update,
            ).run_id
    return {"baseline_run": baseline.run_id, "candidate_runs": runs}


@step("register")
def register(context: PipelineContext) -> dict[str, Any]:
    """Each candidate's evaluated system as a version (reused if already registered)."""
    from finegate.harness._model_registry import lineage_of, open_registry
    from finegate.harness._system import innermost

    store = _open_store(context)
    registry = open_registry(store, context.get("registry"))
    name = context.get("name")
    versions: dict[str, str] = {}
    for recipe_id, run_id in context.get("candidate_runs").items():
        run = store.get_run(run_id)
        existing = next(
            (v for v in registry.versions(name) if v.fingerprint == run["fingerprint"]), None
        )
        if existing is None:
            inner = innermost(run["system"])
            existing = registry.register(
                name,
                fingerprint=run["fingerprint"],
                source=inner.get("adapter"),
                lineage={**lineage_of(run["system"]), "evaluation_runs": [run_id]},
                actor=context.get("actor") or "finegate pipeline",
            )
        versions[recipe_id] = existing.ref
    return {"versions": versions}
