"""Suites: configuration, case files and their formats, the catalogue of named
suites, prompted baselines, and lm-eval tasks as suites through ``FinegateLM``.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "Suite": "_suite",
    "SuiteConfig": "_config",
    "SuiteKind": "_config",
    "SourceConfig": "_config",
    "GenerationConfig": "_config",
    "ScorerSpec": "_config",
    "SUITE_FILE": "_config",
    "load_suite": "_suite",
    "suite_hash": "_suite",
    "CaseRows": "_cases",
    "CaseReader": "_cases",
    "case_format": "_cases",
    "case_formats": "_cases",
    "load_cases": "_cases",
    "suite_catalog": "_catalog",
    "suite_providers": "_catalog",
    "resolve_suite": "_catalog",
    "draw_shots": "_baseline",
    "prompted_baseline": "_baseline",
    "LmEvalSource": "_lm_eval_tasks",
    "LmEvalTasks": "_lm_eval_tasks",
    "load_lm_eval_tasks": "_lm_eval_tasks",
    "lm_eval_cases": "_lm_eval_tasks",
    "use_chat_template": "_lm_eval_tasks",
    "quiet_lm_eval": "_lm_eval_tasks",
    "run_lm_eval_chunk": "_lm_eval_run",
    "FinegateLM": "_finegate_lm",
    "generation_params": "_finegate_lm",
    "has_chat_template": "_finegate_lm",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
