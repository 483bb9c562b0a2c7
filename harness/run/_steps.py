"""The pipeline step the runner owns: ``evaluate``."""

from __future__ import annotations

from typing import Any

from finegate.harness.pipeline import PipelineContext, step


def suites_content(context: PipelineContext) -> dict[str, str]:
    """The suites by content: a suite whose cases or scorers changed is evaluated again."""
    from finegate.harness.suite import resolve_suite

    return {ref: resolve_suite(ref).hash for ref in context.get("suites") or []}


@step("evaluate", content=suites_content)
def evaluate_step(context: PipelineContext) -> dict[str, Any]:
    """The prompted baseline and every candidate on every suite the policy requires."""
    from finegate.harness.core import progress_bar
    from finegate.harness.run._runner import RunOptions, run_suites
    from finegate.harness.store import Store
    from finegate.harness.suite import prompted_baseline, resolve_suite
    from finegate.harness.system import SystemSpec, build_system

    store = Store(context.get("store"))
    suites = [resolve_suite(s) for s in context.get("suites")]
    base_model = context.get("base_model")
    limit = context.get("limit")
    baseline_system = build_system(SystemSpec(model=base_model))
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
            candidate = build_system(SystemSpec(model=base_model, adapter=adapter))
            runs[recipe_id] = run_suites(
                candidate,
                suites,
                store,
                RunOptions(limit=limit, label=f"pipeline-{recipe_id}"),
                on_progress=update,
            ).run_id
    return {"baseline_run": baseline.run_id, "candidate_runs": runs}
