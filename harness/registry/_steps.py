"""The pipeline step the registry owns: ``register``."""

from __future__ import annotations

from typing import Any

from finegate.harness.pipeline import PipelineContext, step


@step("register")
def register_step(context: PipelineContext) -> dict[str, Any]:
    """Each candidate's evaluated system as a version (reused if already registered)."""
    from finegate.harness.registry._open import open_registry
    from finegate.harness.registry._versions import lineage_of
    from finegate.harness.store import Store
    from finegate.harness.system import innermost

    store = Store(context.get("store"))
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
