"""The pipeline steps the gates package owns: ``gate`` and ``promote``."""

from __future__ import annotations

from typing import Any

from finegate.harness.pipeline import PipelineContext, step


def _store_and_registry(context: PipelineContext) -> tuple[Any, Any]:
    from finegate.harness.registry import open_registry
    from finegate.harness.store import Store

    store = Store(context.get("store"))
    return store, open_registry(store, context.get("registry"))


@step("gate")
def gate_step(context: PipelineContext) -> dict[str, Any]:
    """Every candidate against the policy, with the baseline for its baseline gates."""
    from finegate.gates._engine import check_policy
    from finegate.gates._policy import load_policy

    store, registry = _store_and_registry(context)
    policy = load_policy(context.get("policy"))
    verdicts = {}
    for recipe_id, run_id in context.get("candidate_runs").items():
        approvals = registry.approvals_for_fingerprint(store.get_run(run_id)["fingerprint"])
        verdict = check_policy(
            policy, store, run_id, context.get("baseline_run"), approvals=approvals
        )
        verdicts[recipe_id] = {
            "status": verdict.status,
            "verdict_id": verdict.id,
            "gates": {g.gate_id: g.status for g in verdict.gates},
            "blocking": [g.explain() for g in verdict.blocking],
        }
    return {"verdicts": verdicts}


@step("promote")
def promote_step(context: PipelineContext) -> dict[str, Any]:
    """Promote every candidate whose verdict passed; the others are refused, with reasons."""
    from finegate.gates._policy import load_policy
    from finegate.harness.registry import PromotionRefused, promote

    store, registry = _store_and_registry(context)
    policy = load_policy(context.get("policy"))
    alias = context.get("alias")
    promoted, refused = {}, {}
    for recipe_id, ref in context.get("versions").items():
        try:
            promoted[recipe_id] = promote(
                registry,
                store,
                ref,
                alias,
                policy,
                actor=context.get("actor") or "finegate pipeline",
            )
        except PromotionRefused as e:
            refused[recipe_id] = e.reasons
    return {"promoted": promoted, "refused": refused}
