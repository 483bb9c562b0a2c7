"""``finegate serve --registered`` as an operator runs it, in its own process, and
killed with SIGKILL under load: the log loses at most the requests in flight."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import httpx

from finegate.harness.serve import free_port, new_token

THREADS = 6


def _start(released, tmp_path, tokens_path):
    port = free_port()
    command = [
        sys.executable, "-m", "finegate.harness.cli", "serve",
        "--registered", "triage", "--canary-share", "0.2", "--poll-s", "0.2",
        "--store", str(released.store_path), "--trust-root", str(released.trust),
        "--tokens", str(tokens_path), "--pii-mode", "pattern", "--port", str(port),
    ]  # fmt: skip
    stderr = open(tmp_path / "serve.err", "w")  # noqa: SIM115 (closed by the caller)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError((tmp_path / "serve.err").read_text())
        try:
            if httpx.get(f"{url}/v1/models", timeout=1).status_code == 200:
                return process, url, stderr
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("the server did not start")


def test_kill_9_loses_at_most_the_requests_in_flight(released, tmp_path):
    tokens_path = tmp_path / "tokens.yaml"
    token = new_token(tokens_path, "caller-10")
    process, url, stderr = _start(released, tmp_path, tokens_path)
    received: list[str] = []
    sent = [0]
    lock = threading.Lock()

    def ask(client: httpx.Client) -> None:
        with lock:
            sent[0] += 1
        r = client.post(
            f"{url}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "count"}], "max_tokens": 2},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        with lock:
            received.append(r.json()["id"])

    def load() -> None:
        with httpx.Client(timeout=60) as client:
            try:
                while True:
                    ask(client)
            except httpx.HTTPError:
                return  # the server is gone

    try:
        models = httpx.get(f"{url}/v1/models").json()["data"][0]
        assert models["finegate"]["production"]["version"] == "triage:1"
        with httpx.Client(timeout=60) as client:
            for _ in range(10):
                ask(client)
        threads = [threading.Thread(target=load) for _ in range(THREADS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(received) < 10 + 2 * THREADS and time.monotonic() < deadline:
            time.sleep(0.05)  # the callers are answered concurrently: now kill it
        os.kill(process.pid, signal.SIGKILL)
        for t in threads:
            t.join(timeout=60)
    finally:
        process.kill()
        process.wait()
        stderr.close()
    assert "request log:" in (tmp_path / "serve.err").read_text()
    with sqlite3.connect(released.store_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        logged = {
            r[0]
            for r in db.execute(
                "SELECT id FROM serve_requests WHERE caller_hash IS NOT NULL AND status = 200"
            )
        }
    ours = logged & set(received)
    assert set(received) <= logged  # every answer the callers got is in the log
    assert len(received) >= 10 + 2 * THREADS
    # a row written but not answered can only be a request that was in flight
    unanswered = {r for r in logged if r not in ours}
    assert len(unanswered) <= THREADS
    assert sent[0] - len(received) <= THREADS  # and only those were lost to the callers
