"""The gate engine (policy -> checks -> verdicts) and the pytest plugin.

Names are imported lazily so that the pytest plugin and the CLI start fast.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

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
    "pipeline_policy": "_steps",
    "recheck_verdict": "_release",
    "compile_rules": "_rules_spec",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
