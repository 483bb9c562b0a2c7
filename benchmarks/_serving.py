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


def _traffic_elsewhere(url: str, callers: int, per_caller: int, max_tokens: int) -> list[float]:
    """The callers in their own process, as real traffic is: in the server's
    process their threads would take turns with it on the interpreter lock."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_traffic, (url, callers, per_caller, max_tokens))


def run(
    model: BenchModel,
    *,
    callers: int,
    per_caller: int,
    batch_size: int,
    workdir: Path,
    max_tokens: int = 16,
    rounds: int = 2,
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
    store = Store(workdir / "serve-bench.db")
    logs = {
        "no log": None,
        "spacy": RequestLog(store, scanner=PIIScanner("spacy")),
        "pattern": RequestLog(store, scanner=PIIScanner("pattern")),
    }
    timings: dict[str, tuple[float, list[float]]] = {}
    for _ in range(rounds):  # interleaved, the best of each kept: the machine drifts
        for label, log in logs.items():
            options = ServeOptions(batch_window_s=0.05, max_batch=batch_size, request_log=log)
            with ServerThread(system, options) as url:
                start = time.perf_counter()
                latencies = _traffic_elsewhere(url, callers, per_caller, max_tokens)
                took = time.perf_counter() - start
            if label not in timings or took < timings[label][0]:
                timings[label] = (took, latencies)
    plain_s, plain_lat = timings["no log"]
    requests = callers * per_caller
    results = []
    for mode in ("spacy", "pattern"):
        logged_s, logged_lat = timings[mode]
        ratio = plain_s / logged_s  # 1: the log costs nothing; 0.5: it halves throughput
        detail = {
            "requests": requests,
            "callers": callers,
            "max_tokens": max_tokens,
            "pii_mode": mode,
            "no_log_s": plain_s,
            "log_s": logged_s,
            "no_log_p50_ms": float(np.percentile(plain_lat, 50) * 1000),
            "log_p50_ms": float(np.percentile(logged_lat, 50) * 1000),
            "no_log_p95_ms": float(np.percentile(plain_lat, 95) * 1000),
            "log_p95_ms": float(np.percentile(logged_lat, 95) * 1000),
            "batch_window_ms": 50,
            "rounds": rounds,
        }
        results.append(
            Result(
                "serving",
                f"throughput with the request log ({mode} redaction) vs none "
                f"({requests} requests, {callers} callers)",
                ratio,
                "x",
                ">= 0.85",
                ratio >= 0.85,
                detail,
            )
        )
    return results
