"""Production monitoring: live traffic read back as windows, drift, online A/B.

A look (``look``) reads the request log per alias, scores each window with the
suite's reference-free scorers and stores it as a run of kind ``production``,
tests drift (MMD² and a domain classifier on sentence embeddings, PSI on
readable descriptors, thresholds calibrated on the reference itself,
Benjamini-Hochberg across the tests, the texts that drifted most), and compares
canary with production per caller with anytime-valid confidence sequences.
What the monitor gates decide, and what the release rules let them do, is
decided above this package; drifted traffic can be exported as a new suite
version or a review sheet.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "LoggedRequest": "_log",
    "read_requests": "_log",
    "requests_by_id": "_log",
    "requests_digest": "_log",
    "prompt_text": "_log",
    "GENERATION_ENDPOINTS": "_log",
    "score_window": "_windows",
    "window_scorers": "_windows",
    "window_suite": "_windows",
    "log_scores": "_windows",
    "PRODUCTION": "_windows",
    "ABMetric": "_ab",
    "AB_METRICS": "_ab",
    "ab_compare": "_ab",
    "LookOptions": "_look",
    "look": "_look",
    "save_report": "_look",
    "update_report": "_look",
    "stored_reports": "_look",
    "reread": "_look",
    "gather": "_look",
    "measure": "_look",
    "drifted_requests": "_export",
    "export_drifted_suite": "_export",
    "export_drifted_review": "_export",
    "ExportResult": "_export",
    "DriftedRows": "_export",
    "bump_version": "_export",
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
