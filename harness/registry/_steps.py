"""The pipeline step the registry owns: ``register``."""

from __future__ import annotations

from typing import Any

from finegate.harness.pipeline import PipelineContext, step


@step("register")
def register_step(context: PipelineContext) -> dict[str, Any]:
    """Each candidate's evaluated system as a version (reused if already registered),
    its registration signed with the pipeline's key when it has one."""
    from finegate.harness.registry._acts import register_run
    from finegate.harness.registry._open import open_registry
    from finegate.harness.registry.trust import load_signer
    from finegate.harness.store import Store

    store = Store(context.get("store"))
    registry = open_registry(store, context.get("registry"))
    signer = load_signer(context.get("key")) if context.get("key") else None
    name = context.get("name")
    versions: dict[str, str] = {}
    for recipe_id, run_id in context.get("candidate_runs").items():
        run = store.get_run(run_id)
        existing = next(
            (v for v in registry.versions(name) if v.fingerprint == run["fingerprint"]), None
        )
        if existing is None:
            existing, _ = register_run(
                registry,
                store,
                name,
                run,
                actor=context.get("actor") or "finegate pipeline",
                signer=signer,
            )
        versions[recipe_id] = existing.ref
    return {"versions": versions}
