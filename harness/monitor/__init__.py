"""Drift between a reference sample of texts and a window of live texts.

The statistical core of production monitoring: MMD² and a domain classifier
on sentence embeddings, PSI on readable descriptors (length, language,
refusal, format, predicted category), thresholds calibrated on splits of the
reference itself, Benjamini-Hochberg across the tests, and the window texts
that drifted most. Functions over lists of texts; reading windows from the
request log is the caller's business.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "check_drift": "_report",
    "DriftReport": "_report",
    "DriftedExample": "_report",
    "drifted_examples": "_report",
    "calibrate": "_calibration",
    "Calibration": "_calibration",
    "DEFAULT_SPLITS": "_calibration",
    "Embedder": "_embed",
    "TextEncoder": "_embed",
    "default_encoder_path": "_embed",
    "DriftTest": "_drift",
    "MMDResult": "_drift",
    "ClassifierResult": "_drift",
    "PSIResult": "_drift",
    "PSI_EPSILON": "_drift",
    "mmd2_unbiased": "_drift",
    "median_bandwidth": "_drift",
    "gaussian_kernel": "_drift",
    "mmd_test": "_drift",
    "classifier_test": "_drift",
    "psi": "_drift",
    "psi_test": "_drift",
    "benjamini_hochberg": "_drift",
    "language_guess": "_descriptors",
    "format_label": "_descriptors",
    "refusal_label": "_descriptors",
    "describe": "_descriptors",
    "length_edges": "_descriptors",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
