"""The pipeline steps the gates package owns: ``gate`` and ``promote``.

The gate step decides every candidate against the policy the pipeline runs
under (the release rule's, when the rules govern the target alias) and signs
each verdict with the pipeline's key; the promote step asks the registry to
promote each candidate as the release rules say, re-checking the verdicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finegate.harness.pipeline import PipelineContext, step


def _store_and_registry(context: PipelineContext) -> tuple[Any, Any]:
    from finegate.harness.registry import open_registry
    from finegate.harness.store import Store

    store = Store(context.get("store"))
    return store, open_registry(store, context.get("registry"))


def pipeline_policy(context: PipelineContext) -> Any:
    from finegate.gates._policy import Policy, load_policy

    content = context.get("policy_content")
    return Policy.model_validate(content) if content else load_policy(context.get("policy"))


@step("gate")
def gate_step(context: PipelineContext) -> dict[str, Any]:
    """Every candidate against the policy, with the baseline for its baseline gates."""
    from finegate.gates._engine import check_policy
    from finegate.gates._release import approvals_now, sign_gate_verdict
    from finegate.harness.registry.trust import load_signer

    store, _ = _store_and_registry(context)
    policy = pipeline_policy(context)
    signer = load_signer(context.get("key")) if context.get("key") else None
    actor = context.get("actor") or "finegate pipeline"
    verdicts = {}
    for recipe_id, run_id in context.get("candidate_runs").items():
        fingerprint = store.get_run(run_id)["fingerprint"]
        approvals = approvals_now(store, context.get("trust_root"), fingerprint)
        verdict = check_policy(
            policy, store, run_id, context.get("baseline_run"), approvals=approvals
        )
        if signer is not None:
            sign_gate_verdict(store, verdict, signer, actor=actor)
        verdicts[recipe_id] = {
            "status": verdict.status,
            "verdict_id": verdict.id,
            "signed": signer is not None,
            "gates": {g.gate_id: g.status for g in verdict.gates},
            "blocking": [g.explain() for g in verdict.blocking],
        }
    return {"verdicts": verdicts}


def release_content(context: PipelineContext) -> dict[str, Any] | None:
    """The trust root file, the release rules it verifies and the signed approvals,
    by content: promotion under changed rules, or after an approval a refusal was
    waiting for, is decided again."""
    from finegate.harness.core import sha256_file
    from finegate.harness.registry import statement_ids
    from finegate.harness.registry.trust import current_rules, load_trust_root, rules_digest
    from finegate.harness.store import Store

    trust_root = context.get("trust_root")
    if not trust_root or not Path(trust_root).is_file():
        return None
    store = Store(context.get("store"))
    rules = current_rules(store, load_trust_root(trust_root))
    return {
        "trust_root": sha256_file(trust_root, use_cache=False),
        "rules": rules_digest(rules) if rules else None,
        "approvals": statement_ids(store, "approval"),
    }


@step("promote", content=release_content)
def promote_step(context: PipelineContext) -> dict[str, Any]:
    """Promote every candidate the release rules allow; the others are refused, with
    every reason."""
    from finegate.gates._release import recheck_for
    from finegate.harness.registry import PromotionRefused, keep_checkpoint, promote
    from finegate.harness.registry.trust import load_signer, load_trust_root

    store, registry = _store_and_registry(context)
    alias = context.get("alias")
    promoted, refused = {}, {}
    folder = context.get("checkpoints")
    if not context.get("trust_root") or not context.get("key") or not folder:
        why = (
            "promotion needs a trust root, a key and a checkpoint folder (--trust-root, --key, "
            "--checkpoints): it follows the rules, on a log checked against its checkpoints"
        )
        return {"promoted": {}, "refused": {r: [why] for r in context.get("versions")}}
    trust = load_trust_root(context.get("trust_root"))
    signer = load_signer(context.get("key"))
    for recipe_id, ref in context.get("versions").items():
        try:
            promoted[recipe_id] = promote(
                registry,
                store,
                ref,
                alias,
                trust=trust,
                signer=signer,
                recheck=recheck_for(store),
                checkpoints=folder,
            )
        except PromotionRefused as e:
            refused[recipe_id] = e.reasons
    # the run's verdicts and refusals are in the log too: keep its head after them
    checkpoint = keep_checkpoint(store, signer, folder)
    return {"promoted": promoted, "refused": refused, "checkpoint": str(checkpoint)}
