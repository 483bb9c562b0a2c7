"""The end-to-end pipeline: named steps, looked up by name and run in order."""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "PipelineContext": "_pipeline",
    "StepFailed": "_pipeline",
    "Step": "_pipeline",
    "step": "_pipeline",
    "pipeline_steps": "_pipeline",
    "run_pipeline": "_pipeline",
    "DEFAULT_STEPS": "_pipeline",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
