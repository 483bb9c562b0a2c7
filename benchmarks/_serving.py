"""What the request log costs a server: the same traffic through ``finegate serve``
with no log (the reference) and with the log (spaCy redaction of every prompt
and answer, a commit before each answer), side by side on one model."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from benchmarks._model import BenchModel
from benchmarks._report import Result

QUESTIONS = [
    "My name is Dana Ortiz and my card ending 4242 was charged twice. What now?",
    "Where is order 88412? Write to me at dana.ortiz@example.net.",
    "How do I reset my password?",
    "Can I change the delivery address to 12 Elm Street?",
]


def _traffic(url: str, callers: int, per_caller: int, max_tokens: int) -> list[float]:
    import httpx

    latencies: list[float] = []
    lock = threading.Lock()

    def caller(k: int) -> None:
        with httpx.Client(timeout=300) as client:
            for i in range(per_caller):
                content = QUESTIONS[(k + i) % len(QUESTIONS)]
                start = time.perf_counter()
                r = client.post(
                    f"{url}/chat/completions",
                    json={
                        "messages": [{"role": "user", "content": content}],
                        "max_tokens": max_tokens,
                    },
                    headers={"X-Finegate-Caller": f"bench-{k}"},
                )
                r.raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def run(
    model: BenchModel,
    *,
    callers: int,
    per_caller: int,
    batch_size: int,
    workdir: Path,
    max_tokens: int = 16,
) -> list[Result]:
    import numpy as np

    from finegate.harness import Store
    from finegate.harness.pii import PIIScanner
    from finegate.harness.serve import RequestLog, ServeOptions, ServerThread
    from finegate.harness.system import SystemSpec, build_system

    system = build_system(
        SystemSpec(model=str(model.path), dtype="float32", device="cpu", batch_size=batch_size)
    )
    with ServerThread(system, ServeOptions(max_batch=batch_size)) as url:  # load it first
        _traffic(url, 1, 1, 2)
    timings: dict[str, tuple[float, list[float]]] = {}
    store = Store(workdir / "serve-bench.db")
    for label, log in (
        ("no log", None),
        ("log", RequestLog(store, scanner=PIIScanner("spacy"))),
    ):
        options = ServeOptions(max_batch=batch_size, request_log=log)
        with ServerThread(system, options) as url:
            start = time.perf_counter()
            latencies = _traffic(url, callers, per_caller, max_tokens)
            timings[label] = (time.perf_counter() - start, latencies)
    plain_s, plain_lat = timings["no log"]
    logged_s, logged_lat = timings["log"]
    requests = callers * per_caller
    ratio = plain_s / logged_s  # above 1 would mean the log made it faster
    detail = {
        "requests": requests,
        "callers": callers,
        "max_tokens": max_tokens,
        "no_log_s": plain_s,
        "log_s": logged_s,
        "no_log_p50_ms": float(np.percentile(plain_lat, 50) * 1000),
        "log_p50_ms": float(np.percentile(logged_lat, 50) * 1000),
        "no_log_p95_ms": float(np.percentile(plain_lat, 95) * 1000),
        "log_p95_ms": float(np.percentile(logged_lat, 95) * 1000),
        "requests_per_s_no_log": requests / plain_s,
        "requests_per_s_log": requests / logged_s,
    }
    return [
        Result(
            "serving",
            f"throughput with the redacted request log vs none ({requests} requests, "
            f"{callers} callers)",
            ratio,
            "x",
            ">= 0.85",
            ratio >= 0.85,
            detail,
        )
    ]
