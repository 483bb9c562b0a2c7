"""The pipeline step the reports package owns: ``report``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finegate.harness.pipeline import PipelineContext, step


@step("report")
def report_step(context: PipelineContext) -> dict[str, Any]:
    """One HTML report per candidate, against the baseline, with its verdict."""
    from finegate.gates import pipeline_policy
    from finegate.harness.core import atomic_write_text
    from finegate.harness.registry import open_registry
    from finegate.harness.store import Store
    from finegate.reports._collect import Redactor, attach_proof, collect
    from finegate.reports._render import render_html

    store = Store(context.get("store"))
    registry = open_registry(store, context.get("registry"))
    policy = pipeline_policy(context)
    redact = Redactor()
    paths = {}
    for recipe_id, run_id in context.get("candidate_runs").items():
        version = registry.get(context.get("versions")[recipe_id])
        data = collect(
            store,
            run_id,
            baseline_ref=context.get("baseline_run"),
            policy=policy,
            model_version=version,
            redact=redact,
            checkpoints=context.get("checkpoints"),
        )
        path = Path(context.get("workdir")) / f"report-{recipe_id}.html"
        attach_proof(data, path, _public_key_of(context.get("key")))
        atomic_write_text(path, render_html(data))
        paths[recipe_id] = str(path)
    return {"reports": paths}


def _public_key_of(private: str | None) -> str | None:
    """``NAME.pub.json`` beside the pipeline's ``NAME.key``: the key its checkpoints
    are signed with."""
    if not private:
        return None
    public = Path(private).with_suffix(".pub.json")
    return str(public) if public.is_file() else None
