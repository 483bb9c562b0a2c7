"""The runner: one system on a set of suites, chunked, cached and resumable;
the environment a run records; the pipeline's ``evaluate`` step.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "RunOptions": "_runner",
    "RunResult": "_runner",
    "run_suites": "_runner",
    "run_on_ray": "_ray",
    "capture_environment": "_environment",
    "library_versions": "_environment",
    "git_state": "_environment",
    "evaluate_step": "_steps",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
