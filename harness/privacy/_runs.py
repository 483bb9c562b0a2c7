"""Privacy measurements as runs, and privacy next to utility.

Canary exposure, membership inference and PII extraction are each stored as a
run of their own kind (``exposure``, ``mia``, ``extraction``) under the
fingerprint of the system measured, with one pseudo-suite (``privacy/...``)
holding the per-item records and the metrics with their intervals: gates,
reports and ``finegate runs show`` read them like any run.

``tradeoff`` lines candidates up (a plain and a DP run, runs at several
epsilons): for each, the task metric of its evaluation run next to its latest
exposure, membership-inference AUC and extraction rate, so the price of
privacy in utility, and the privacy bought, are read off one table.
"""

from __future__ import annotations

from typing import Any

from finegate.harness.core import MetricValue, sha256_json
from finegate.harness.store import Store
from finegate.harness.system import System

PRIVACY_KINDS = ("exposure", "mia", "extraction")

# the headline metric of each kind: (suite id, metric name, higher means less private)
HEADLINES = {
    "exposure": ("privacy/exposure", "exposure"),
    "mia": ("privacy/membership", "loss.auc"),
    "extraction": ("privacy/extraction", "leak"),
}


def store_privacy_run(
    store: Store,
    *,
    kind: str,
    suite_id: str,
    spec: dict[str, Any],
    system: System,
    records: list[dict[str, Any]],
    metrics: list[MetricValue],
    seed: int,
    label: str | None,
    options: dict[str, Any],
) -> str:
    """One complete run: the records and metrics of one privacy measurement."""
    from finegate.harness.run import capture_environment

    suite = {
        "id": suite_id,
        "version": "1",
        "kind": "pii",
        "hash": sha256_json(spec),
        "n_cases": len(records),
        "split": None,
        "confidence": 0.95,
        "bootstrap_resamples": 2000,
        "scorers": [],
    }
    description = system.describe()
    run_id = store.create_run(
        run_key=sha256_json({kind: system.fingerprint(), "spec": spec}),
        label=label,
        kind=kind,
        system=description,
        suites=[suite],
        environment=capture_environment(description, seed),
        options=options,
    )
    for i, r in enumerate(records):
        r.setdefault("suite_id", suite_id)
        r.setdefault("suite_hash", suite["hash"])
        r.setdefault("position", i)
        r.setdefault("facts", {})
    store.add_records(run_id, records)
    store.save_metrics(run_id, suite_id, suite["hash"], metrics)
    store.finish_run(run_id, status="complete", timings={})
    return run_id


def latest_privacy_runs(store: Store, fingerprint: str) -> dict[str, dict[str, Any]]:
    """The newest complete run of each privacy kind for a system fingerprint."""
    out: dict[str, dict[str, Any]] = {}
    for kind in PRIVACY_KINDS:
        for run in store.list_runs(limit=1000, kind=kind):
            if run["fingerprint"] == fingerprint and run["status"] == "complete":
                out[kind] = run
                break
    return out
