"""``OpenAICompatible`` against a real local HTTP server that misbehaves on purpose."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from finegate.harness import RunOptions, Store, load_suite, run_suites
from finegate.harness.cli import main
from finegate.harness.core import (
    CapabilityError,
    GenerateRequest,
    InputError,
    LoglikelihoodRequest,
    Message,
)
from finegate.harness.system import EndpointError, OpenAICompatible, parse_endpoint_ref

SECRET = "sk-test-9f8e7d6c5b4a-do-not-store"


class Scripted:
    """A real HTTP server: each POST takes the next scripted answer (status, delay),
    then answers like a chat model that shouts the last user turn back."""

    def __init__(self) -> None:
        self.script: list[tuple[int, float]] = []
        self.seen: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.logprobs = True
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with owner.lock:
                    owner.seen.append(body)
                    owner.auth.append(self.headers.get("Authorization"))
                    status, delay = owner.script.pop(0) if owner.script else (200, 0.0)
                    owner.in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
                time.sleep(delay)
                with owner.lock:
                    owner.in_flight -= 1
                try:
                    if status != 200:
                        self._send(status, {"error": {"message": f"scripted {status}"}}, retry=True)
                    else:
                        self._send(200, owner.answer(self.path, body))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def _send(self, status: int, data: Any, retry: bool = False) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                if retry and status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def answer(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path.endswith("/chat/completions"):
            text = body["messages"][-1]["content"].upper()
            return {
                "choices": [{"message": {"content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 7, "completion_tokens": len(text.split())},
            }
        prompt = body["prompt"]
        if body.get("echo"):
            # one token per character, each with log-probability -0.5; "x" is never greedy
            choice: dict[str, Any] = {"text": prompt, "finish_reason": "length"}
            if self.logprobs:
                choice["logprobs"] = {
                    "tokens": list(prompt),
                    "token_logprobs": [None] + [-0.5] * (len(prompt) - 1),
                    "text_offset": list(range(len(prompt))),
                    "top_logprobs": [None] + [{("y" if c == "x" else c): -0.1} for c in prompt[1:]],
                }
            return {"choices": [choice], "usage": {"prompt_tokens": len(prompt)}}
        return {
            "choices": [{"text": prompt[::-1], "finish_reason": "length"}],
            "usage": {"prompt_tokens": len(prompt), "completion_tokens": 4},
        }

    def __enter__(self) -> Scripted:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Scripted]:
    with Scripted() as s:
        yield s


def _client(url: str, **kw: Any) -> OpenAICompatible:
    return OpenAICompatible(url, "m", backoff_s=0.01, max_backoff_s=0.05, **kw)


CHAT = GenerateRequest((Message("user", "hello world"),))


def test_429_and_500_are_retried_with_backoff(server: Scripted) -> None:
    server.script = [(429, 0.0), (500, 0.0), (503, 0.0)]
    client = _client(server.url, max_retries=3)
    [g] = client.generate([CHAT])
    assert g.text == "HELLO WORLD" and (g.prompt_tokens, g.completion_tokens) == (7, 2)
    assert len(server.seen) == 4 and client.retries == 3
    assert server.seen[0] == server.seen[3]  # the same request, sent again


def test_retries_run_out_with_a_clear_error(server: Scripted) -> None:
    server.script = [(500, 0.0)] * 3
    with pytest.raises(EndpointError, match=r"still failing after 2 retries \(HTTP 500"):
        _client(server.url, max_retries=2).generate([CHAT])
    assert len(server.seen) == 3


def test_a_client_error_is_not_retried(server: Scripted) -> None:
    server.script = [(400, 0.0)]
    with pytest.raises(EndpointError, match=r"HTTP 400: .*scripted 400") as e:
        _client(server.url).generate([CHAT])
    assert e.value.status == 400 and len(server.seen) == 1


def test_a_timeout_is_retried(server: Scripted) -> None:
    server.script = [(200, 3.0)]
    client = _client(server.url, timeout_s=1.0, max_retries=2)
    [g] = client.generate([CHAT])
    assert g.text == "HELLO WORLD" and client.retries == 1


def test_concurrency_is_bounded_and_order_kept(server: Scripted) -> None:
    server.script = [(200, 0.2)] * 6
    requests = [GenerateRequest((Message("user", f"q {i}"),)) for i in range(6)]
    out = _client(server.url, concurrency=2).generate(requests)
    assert [g.text for g in out] == [f"Q {i}" for i in range(6)]
    assert server.max_in_flight == 2


def test_raw_text_goes_to_completions_and_params_are_sent(server: Scripted) -> None:
    from finegate.harness.core import GenerationParams

    params = GenerationParams(max_new_tokens=5, temperature=0.5, stop=("\n",), seed=3)
    [g] = _client(server.url, extra_body={"top_k": 1}).generate([GenerateRequest("abc", params)])
    assert g.text == "cba" and g.finish_reason == "length" and g.prompt_tokens == 3
    assert server.seen[0] == {
        "model": "m",
        "prompt": "abc",
        "max_tokens": 5,
        "temperature": 0.5,
        "top_p": 1.0,
        "seed": 3,
        "stop": ["\n"],
        "top_k": 1,
    }


def test_loglikelihood_from_prompt_logprobs(server: Scripted) -> None:
    client = _client(server.url)
    a, b = client.loglikelihood(
        [LoglikelihoodRequest("The sky is ", "blue"), LoglikelihoodRequest("ab", "xz")]
    )
    # "The sky is" + " blue": the context's trailing space moves to the continuation
    assert (a.logprob, a.n_tokens, a.is_greedy) == (-2.5, 5, True)
    assert (b.logprob, b.n_tokens, b.is_greedy) == (-1.0, 2, False)
    # sent concurrently: the server may see them in either order
    assert sorted(seen["prompt"] for seen in server.seen) == ["The sky is blue", "abxz"]
    assert {(seen["echo"], seen["max_tokens"]) for seen in server.seen} == {(True, 0)}
    server.logprobs = False
    with pytest.raises(CapabilityError, match="no prompt logprobs"):
        client.loglikelihood([LoglikelihoodRequest("a", "b")])
    server.script = [(400, 0.0)]
    with pytest.raises(CapabilityError, match="refused prompt logprobs"):
        client.loglikelihood([LoglikelihoodRequest("a", "b")])


def test_the_key_is_sent_but_never_stored(
    server: Scripted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FG_TEST_KEY", SECRET)
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "suite.yaml").write_text(
        "id: t/shout\nversion: 1\nkind: task\nsource: {path: c.jsonl}\nprompt: '{{ input }}'\n"
        "scorers:\n  - name: exact_match\n  - name: answer_tokens\n"
    )
    (folder / "c.jsonl").write_text(
        "".join(
            json.dumps({"id": f"c{i}", "input": w, "references": [w.upper()]}) + "\n"
            for i, w in enumerate(["yes", "no way", "fine"])
        )
    )
    client = _client(server.url, api_key_env="FG_TEST_KEY")
    store = Store(tmp_path / "fg.db")
    result = run_suites(client, [load_suite(folder / "suite.yaml")], store, RunOptions())
    metrics = {m.name: m for m in result.metrics["t/shout"]}
    assert metrics["exact_match"].value == 1.0 and metrics["exact_match"].n == 3
    assert metrics["answer_tokens.prompt"].value == 7.0
    assert metrics["answer_tokens.completion"].value == pytest.approx(4 / 3)
    assert set(server.auth) == {f"Bearer {SECRET}"}
    store.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("fg.db*"))
    assert SECRET.encode() not in stored and b"FG_TEST_KEY" in stored
    monkeypatch.setenv("FG_TEST_KEY", "another-key")
    assert (
        client.fingerprint() == OpenAICompatible(server.url, "m", api_key_env="OTHER").fingerprint()
    )
    assert client.fingerprint() != OpenAICompatible(server.url, "m2").fingerprint()
    assert client.fingerprint() != OpenAICompatible(server.url + "x", "m").fingerprint()
    assert SECRET not in json.dumps(client.describe())
    monkeypatch.delenv("FG_TEST_KEY")
    with pytest.raises(InputError, match="FG_TEST_KEY"):
        client.generate([CHAT])


def test_endpoint_refs_and_bad_config() -> None:
    assert parse_endpoint_ref("openai:my-model@http://127.0.0.1:8000/v1") == (
        "my-model",
        "http://127.0.0.1:8000/v1",
    )
    assert parse_endpoint_ref("openai:org/m@v2@https://api.example.com/v1") == (
        "org/m@v2",
        "https://api.example.com/v1",
    )
    with pytest.raises(InputError, match="openai:NAME@URL"):
        parse_endpoint_ref("openai:nourl")
    with pytest.raises(InputError) as e:
        OpenAICompatible("ftp://x", "", api="grpc", concurrency=0)
    assert len(e.value.problems) == 4


def test_cli_eval_through_an_endpoint(
    server: Scripted, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "suite.yaml").write_text(
        "id: t/cli\nversion: 1\nkind: task\nsource: {path: c.jsonl}\nprompt: '{{ input }}'\n"
        "scorers:\n  - name: exact_match\n"
    )
    (folder / "c.jsonl").write_text(
        json.dumps({"id": "a", "input": "ok", "references": ["OK"]}) + "\n"
    )
    store = str(tmp_path / "fg.db")
    suite = str(folder / "suite.yaml")
    for args in (
        ["--model", f"openai:m@{server.url}"],
        ["--endpoint", server.url, "--endpoint-model", "m", "--concurrency", "2"],
    ):
        with pytest.raises(SystemExit) as e:
            main(["eval", *args, "-s", suite, "--store", store, "--json", "--no-cache"])
        assert e.value.code == 0
        out = json.loads(capsys.readouterr().out)
        assert out["metrics"]["t/cli"][0]["value"] == 1.0
    run = Store(store).get_run("latest")
    assert run["system"]["type"] == "openai" and run["system"]["url"] == server.url
    with pytest.raises(SystemExit) as e:
        main(["eval", "--endpoint", server.url, "-s", suite, "--store", store])
    assert e.value.code == 2
    assert "--endpoint needs --endpoint-model" in capsys.readouterr().err


def test_latency_and_cost_of_an_endpoint_gate_through_the_engine(
    server: Scripted, tmp_path: Path
) -> None:
    import yaml

    from finegate.gates import Policy, check_policy

    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "suite.yaml").write_text(
        "id: t/cost\nversion: 1\nkind: task\nsource: {path: c.jsonl}\nprompt: '{{ input }}'\n"
        "scorers:\n"
        "  - name: latency\n    args: {percentiles: [50, 95, 99]}\n"
        "  - name: cost\n    args: {prompt_price: 2.5, completion_price: 10.0}\n"
    )
    words = [" ".join(f"w{i}" for _ in range(1 + i % 4)) for i in range(20)]
    (folder / "c.jsonl").write_text(
        "".join(json.dumps({"id": f"c{i}", "input": w}) + "\n" for i, w in enumerate(words))
    )
    store = Store(tmp_path / "fg.db")
    result = run_suites(_client(server.url), [load_suite(folder / "suite.yaml")], store)
    m = {x.name: x for x in result.metrics["t/cost"]}
    # 7 prompt tokens at 2.5/M and 1..4 (mean 2.5) completion tokens at 10/M, times 1,000
    assert m["cost.per_1000_requests"].value == pytest.approx(1000 * (7 * 2.5 + 2.5 * 10) / 1e6)
    assert m["cost.per_1000_requests"].n == 20
    assert m["cost.per_1000_requests"].ci_low < 0.0425 < m["cost.per_1000_requests"].ci_high
    records = store.records(result.run_id)
    latencies = sorted(r["output"]["latency_s"] for r in records)
    tokens = sum(r["output"]["completion_tokens"] for r in records)
    assert m["latency.tokens_per_s"].value == pytest.approx(tokens / sum(latencies))
    import numpy as np

    assert m["latency.p99"].value == pytest.approx(float(np.quantile(latencies, 0.99)))
    assert m["latency.p50"].value <= m["latency.p95"].value <= m["latency.p99"].value
    policy = Policy.model_validate(
        yaml.safe_load(
            """
id: serving
version: 1
gates:
  - {id: p99, suite: t/cost, metric: latency.p99, max: 30.0, min_n: 1}
  - {id: speed, suite: t/cost, metric: latency.tokens_per_s, min: 0.001, decide_on: point, min_n: 1}
  - {id: cost-ok, suite: t/cost, metric: cost.per_1000_requests, max: 0.05, min_n: 1}
  - {id: cost-tight, suite: t/cost, metric: cost.per_1000_requests, max: 0.04, min_n: 1}
"""
        )
    )
    verdict = check_policy(policy, store, result.run_id)
    status = {g.gate_id: g.status for g in verdict.gates}
    assert status == {"p99": "pass", "speed": "pass", "cost-ok": "pass", "cost-tight": "fail"}
    assert verdict.status == "fail"


def test_a_token_across_the_seam_stays_with_the_context() -> None:
    """A token that merged the context's end with the continuation's start stays
    with the context: "I like" + "d it" scores only " it"."""
    from finegate.harness.system._openai import _continuation_logprob

    data = {
        "choices": [
            {
                "logprobs": {
                    "tokens": ["I", " liked", " it"],
                    "token_logprobs": [None, -2.0, -0.5],
                    "text_offset": [0, 1, 7],
                    "top_logprobs": [None, {" liked": -2.0}, {" them": -0.1}],
                }
            }
        ]
    }
    ll = _continuation_logprob(data, len("I like"), 0.1, "m")
    assert (ll.logprob, ll.n_tokens, ll.is_greedy) == (-0.5, 1, False)
    ll = _continuation_logprob(data, len("I"), 0.1, "m")
    assert (ll.logprob, ll.n_tokens, ll.is_greedy) == (-2.5, 2, False)
