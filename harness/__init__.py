"""finegate's core: systems under test, suites, the runner, statistics and the store.

Names are imported lazily (PEP 562), so ``import finegate.harness`` and the CLI
start fast and torch is loaded only when a model is.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FinegateError": "_errors",
    "InputError": "_errors",
    "StoreError": "_errors",
    "CapabilityError": "_errors",
    "NotBuiltError": "_errors",
    "Problem": "_errors",
    "Case": "_types",
    "Message": "_types",
    "GenerationParams": "_types",
    "GenerateRequest": "_types",
    "LoglikelihoodRequest": "_types",
    "Generation": "_types",
    "Loglikelihood": "_types",
    "Output": "_types",
    "MetricValue": "_types",
    "System": "_system",
    "HFModel": "_hf",
    "CallableSystem": "_callable",
    "PromptTemplate": "_template",
    "PromptedSystem": "_template",
    "Shot": "_template",
    "Suite": "_suite",
    "SuiteConfig": "_suite",
    "load_suite": "_suite",
    "resolve_suite": "_suite",
    "suite_catalog": "_suite",
    "scorer": "_scorers",
    "scorers": "_scorers",
    "PluginRegistry": "_plugins",
    "Store": "_store",
    "RunOptions": "_runner",
    "RunResult": "_runner",
    "run_suites": "_runner",
    "summarize": "_stats",
    "wilson_interval": "_stats",
    "bootstrap_interval": "_stats",
    "ModelVersion": "_model_registry",
    "Registry": "_model_registry",
    "SQLiteRegistry": "_model_registry",
    "open_registry": "_model_registry",
    "PromotionRefused": "_promotion",
    "promote": "_promotion",
    "rollback": "_promotion",
    "PIIScanner": "_pii",
    "embedded_models": "_embedded",
    "ensure_embedded": "_embedded",
    "DEFAULT_MODEL": "_embedded",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'finegate.harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"finegate.harness.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
