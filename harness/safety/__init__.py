"""Safety: refusal detection and its scorer, toxicity backends and their assets,
domain policy rules, and readers of public safety data sets.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "pattern_refusal": "_refusal",
    "PATTERN_VERSION": "_refusal",
    "RefusalDetector": "_refusal",
    "PatternDetector": "_refusal",
    "JudgeDetector": "_refusal",
    "detectors": "_refusal",
    "make_detector": "_refusal",
    "RefusalScorer": "_refusal_scorer",
    "ToxicityBackend": "_toxicity",
    "ToxicityScorer": "_toxicity",
    "make_backend": "_toxicity",
    "describe_identity": "_toxicity",
    "AssetError": "_assets",
    "DetoxifyVariant": "_assets",
    "DETOXIFY_VARIANTS": "_assets",
    "asset_dir": "_assets",
    "assets_dir": "_assets",
    "read_manifest": "_assets",
    "detoxify_installed": "_assets",
    "verified_detoxify": "_assets",
    "list_assets": "_assets",
    "install_detoxify": "_assets",
    "pull_detoxify": "_assets",
    "RulesFile": "_policy_rules",
    "load_rules": "_policy_rules",
    "check_rules": "_policy_rules",
    "PolicyRulesScorer": "_policy_rules",
    "advbench_rows": "_formats",
    "harmbench_rows": "_formats",
    "xstest_rows": "_formats",
    "refusal_scorer": "_refusal_scorer",
    "toxicity_scorer": "_toxicity",
    "policy_rules_scorer": "_policy_rules",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
