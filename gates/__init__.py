"""The gate engine (policy -> checks -> verdicts) and the pytest plugin.

Names are imported lazily so that the pytest plugin and the CLI start fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Policy": "_policy",
    "ThresholdGate": "_policy",
    "BaselineGate": "_policy",
    "GovernanceGate": "_policy",
    "Waiver": "_policy",
    "load_policy": "_policy",
    "policy_json_schema": "_policy",
    "Verdict": "_verdict",
    "PolicyVerdict": "_verdict",
    "Evidence": "_engine",
    "evaluate": "_engine",
    "check_policy": "_engine",
    "junit_xml": "_junit",
    "write_junit": "_junit",
    "RunView": "_plugin",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'finegate.gates' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"finegate.gates.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
