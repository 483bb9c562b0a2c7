"""Interval estimates and tests on per-case scores (numpy and scipy only).

Wilson intervals for rates and seeded bootstrap intervals otherwise; paired
bootstrap differences and relative changes with p-values; McNemar's exact test;
Cohen's and Fleiss' kappa for rater agreement.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "DEFAULT_LEVEL": "_intervals",
    "DEFAULT_RESAMPLES": "_intervals",
    "DEFAULT_SEED": "_intervals",
    "wilson_interval": "_intervals",
    "bootstrap_interval": "_intervals",
    "percentile_interval": "_intervals",
    "is_binary": "_intervals",
    "summarize": "_intervals",
    "mcnemar_exact": "_paired",
    "paired_bootstrap": "_paired",
    "bootstrap_interval_and_p": "_paired",
    "paired_relative_change": "_paired",
    "unpaired_bootstrap": "_unpaired",
    "cohen_kappa": "_agreement",
    "fleiss_kappa": "_agreement",
    "SequentialEstimate": "_sequential",
    "SequentialComparison": "_sequential",
    "CallerUnits": "_clusters",
    "decide": "_sequential",
    "cs_rho": "_sequential",
    "cs_half_width": "_sequential",
    "running_mean_cs": "_sequential",
    "mean_confidence_sequence": "_sequential",
    "running_difference_cs": "_sequential",
    "compare_means": "_sequential",
    "compare_proportions": "_sequential",
    "per_caller_units": "_clusters",
    "running_quantile_cs": "_quantile_cs",
    "quantile_confidence_sequence": "_quantile_cs",
    "compare_quantiles": "_quantile_cs",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
