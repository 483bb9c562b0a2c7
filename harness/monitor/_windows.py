"""A window of live traffic, scored like a suite and stored as a run.

Evaluation runs score a system's answers to a suite's cases. A production
window scores the answers the server already gave, with the scorers of that
suite that need no reference answer (format, schema, length, latency, cost,
toxicity, policy rules: ``is_reference_free``), plus what the request log itself
recorded for each answer (refused, personal data in the answer, invalid JSON
where JSON was asked for, the logged cost). It is stored as a run of kind
``production``: ``runs`` lists it, the report and the viewer read it like any
run, and ``compare`` sets it against an evaluation run (unpaired: live requests
are not the suite's cases).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from finegate.harness.core import Case, MetricValue, Output, sha256_json
from finegate.harness.monitor._log import LoggedRequest, requests_digest
from finegate.harness.scorer import (
    LoadedScorer,
    compute_metrics,
    is_reference_free,
    load_scorer,
    score_chunk,
)
from finegate.harness.store import Store

ALWAYS = ("latency", "answer_tokens", "length")  # every window has these, suite or not
LOG_SCORES = ("log.refusal", "log.answer_pii", "log.invalid_json", "log.cost")
PRODUCTION = "production"
CONFIDENCE, RESAMPLES = 0.95, 2000


def window_scorers(suite: Any | None) -> list[LoadedScorer]:
    """The suite's reference-free scorers, and latency, tokens and length."""
    chosen = [s for s in (suite.scorers if suite else ()) if is_reference_free(s.name)]
    names = {s.name for s in chosen}
    return chosen + [load_scorer(name, {}) for name in ALWAYS if name not in names]


def window_suite(name: str, suite: Any | None, scorers: Sequence[LoadedScorer]) -> dict[str, Any]:
    """How the window's run records its "suite": the scorers it used and the suite
    they came from (``of``), under an id of its own, since its cases are requests."""
    specs = [s.spec() for s in scorers]
    of = {"id": suite.id, "hash": suite.hash, "version": suite.config.version} if suite else None
    return {
        "id": f"{PRODUCTION}/{suite.id if suite else name}",
        "version": of["version"] if of else None,
        "kind": PRODUCTION,
        "hash": sha256_json({"of": of, "scorers": specs, "log_scores": LOG_SCORES}),
        "of": of,
        "confidence": suite.config.confidence if suite else CONFIDENCE,
        "bootstrap_resamples": suite.config.bootstrap_resamples if suite else RESAMPLES,
        "scorers": specs,
    }


def log_scores(request: LoggedRequest) -> dict[str, float | None]:
    """What the server recorded about an answer, as per-case scores."""
    asked_json = bool(request.flags.get("json_requested"))
    return {
        "log.refusal": float(bool(request.flags.get("refusal"))),
        "log.answer_pii": float(request.answer_pii > 0),
        "log.invalid_json": float(bool(request.flags.get("invalid_json"))) if asked_json else None,
        "log.cost": request.cost,
    }


def _case(request: LoggedRequest) -> Case:
    return Case(id=request.id, input=request.prompt, metadata={"at": request.at})


def _output(request: LoggedRequest) -> Output:
    return Output(
        text=request.answer,
        prompt_tokens=request.prompt_tokens or 0,
        completion_tokens=request.completion_tokens or 0,
        latency_s=request.latency_s or 0.0,
    )


def score_window(
    store: Store,
    requests: Sequence[LoggedRequest],
    *,
    name: str,
    system: dict[str, Any],
    suite: Any | None = None,
    label: str | None = None,
    window: dict[str, Any] | None = None,
    seed: int = 0,
) -> tuple[str, list[MetricValue]]:
    """Score ``requests`` (one version's answers) and store them as a run of kind
    ``production``: its id, and the metrics computed now from the requests. The
    same requests scored the same way are stored once; their metrics are always
    computed afresh, never read back from the store, so a decision never rests
    on a stored number someone could have edited."""
    from finegate.harness.run import capture_environment

    started = time.perf_counter()
    scorers = window_scorers(suite)
    info = {**window_suite(name, suite, scorers), "n_cases": len(requests)}
    records = _records(requests, scorers, info)
    values = compute_metrics(
        records,
        scorers,
        level=info["confidence"],
        resamples=info["bootstrap_resamples"],
        seed=seed,
    )
    digest = requests_digest(requests)
    run_key = sha256_json({"kind": PRODUCTION, "requests": digest, "suite": info["hash"]})
    found = store.find_complete(run_key)
    if found:
        return found, values
    run_id = store.create_run(
        run_key=run_key,
        label=label,
        kind=PRODUCTION,
        system=system,
        suites=[info],
        environment=capture_environment(system, seed),
        options={"window": window or {}, "requests_sha256": digest, "seed": seed},
    )
    store.add_records(run_id, records)
    store.save_metrics(run_id, info["id"], info["hash"], values)
    timings = {"total_s": round(time.perf_counter() - started, 3)}
    store.finish_run(run_id, status="complete", timings=timings)
    return run_id, values


def _records(
    requests: Sequence[LoggedRequest], scorers: Sequence[LoadedScorer], info: dict[str, Any]
) -> list[dict[str, Any]]:
    cases = [_case(q) for q in requests]
    outputs = [_output(q) for q in requests]
    scored = score_chunk(scorers, cases, outputs)
    return [
        {
            "suite_id": info["id"],
            "suite_hash": info["hash"],
            "case_id": q.id,
            "position": i,
            "request": {"prompt": q.prompt, "at": q.at, "caller": q.caller},
            "output": {
                "text": o.text,
                "prompt_tokens": o.prompt_tokens,
                "completion_tokens": o.completion_tokens,
                "latency_s": o.latency_s,
            },
            "scores": {**scores, **log_scores(q)},
            "facts": facts,
        }
        for i, (q, o, (scores, facts)) in enumerate(zip(requests, outputs, scored, strict=True))
    ]
