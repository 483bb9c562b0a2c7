"""``finegate serve``: a model served over the OpenAI API answers as it does in process."""

from __future__ import annotations

import threading

import httpx
import pytest

from finegate.harness import HFModel, PromptTemplate
from finegate.harness.core import (
    CapabilityError,
    GenerateRequest,
    GenerationParams,
    LoglikelihoodRequest,
    Message,
)
from finegate.harness.serve import ServeOptions, ServerThread
from finegate.harness.system import EndpointError, OpenAICompatible

PARAMS = GenerationParams(max_new_tokens=6)


@pytest.fixture(scope="module")
def chat_model(tiny_chat_llama) -> HFModel:
    return HFModel(str(tiny_chat_llama), device="cpu", batch_size=4)


@pytest.fixture(scope="module")
def served(chat_model):
    server = ServerThread(chat_model, ServeOptions(batch_window_s=0.05, served_name="tiny"))
    with server as url:
        yield url, server


def test_endpoint_answers_equal_in_process(chat_model, served) -> None:
    url, _ = served
    client = OpenAICompatible(url, "tiny", concurrency=4)
    requests = [
        GenerateRequest((Message("user", "hello there"),), PARAMS),
        GenerateRequest((Message("system", "be brief"), Message("user", "why?")), PARAMS),
        GenerateRequest("raw text prompt", PARAMS),
        GenerateRequest((Message("user", "stop early"),), GenerationParams(3, stop=("a",))),
    ]
    local = chat_model.generate(requests)
    remote = client.generate(requests)
    assert [(g.text, g.prompt_tokens, g.completion_tokens, g.finish_reason) for g in remote] == [
        (g.text, g.prompt_tokens, g.completion_tokens, g.finish_reason) for g in local
    ]
    assert all(g.latency_s > 0 for g in remote)


def test_prompt_logprobs_equal_in_process_loglikelihood(chat_model, served) -> None:
    url, _ = served
    client = OpenAICompatible(url, "tiny")
    requests = [
        LoglikelihoodRequest("The sky is", " blue"),
        LoglikelihoodRequest("Two plus two is ", "four"),
        LoglikelihoodRequest("abc", "d"),
    ]
    local = chat_model.loglikelihood(requests)
    remote = client.loglikelihood(requests)
    for lo, re_ in zip(local, remote, strict=True):
        assert re_.logprob == pytest.approx(lo.logprob, abs=1e-4)
        assert (re_.n_tokens, re_.is_greedy) == (lo.n_tokens, lo.is_greedy)
    with pytest.raises(CapabilityError, match="chat template"):
        client.loglikelihood([LoglikelihoodRequest((Message("user", "q"),), "a")])
    # with the model's tokenizer the client renders the conversation as the model does
    with_template = OpenAICompatible(url, "tiny", tokenizer=str(chat_model.model_path))
    conv = [LoglikelihoodRequest((Message("user", "pick one"),), " yes")]
    assert with_template.loglikelihood(conv)[0].logprob == pytest.approx(
        chat_model.loglikelihood(conv)[0].logprob, abs=1e-4
    )


def test_official_openai_client(chat_model, served) -> None:
    import openai

    url, _ = served
    client = openai.OpenAI(base_url=url, api_key="not-needed", max_retries=0)
    [model] = client.models.list().data
    assert model.id == "tiny"
    assert model.model_extra["fingerprint"] == chat_model.fingerprint()
    reply = client.chat.completions.create(
        model="tiny", messages=[{"role": "user", "content": "hello there"}], max_tokens=6
    )
    [local] = chat_model.generate([GenerateRequest((Message("user", "hello there"),), PARAMS)])
    assert reply.choices[0].message.content == local.text
    assert reply.usage.completion_tokens == local.completion_tokens
    echo = client.completions.create(
        model="tiny", prompt="The sky is blue", max_tokens=0, echo=True, logprobs=1
    )
    lp = echo.choices[0].logprobs
    assert "".join(lp.tokens) == "The sky is blue" and lp.token_logprobs[0] is None
    [ll] = chat_model.loglikelihood([LoglikelihoodRequest("The sky is", " blue")])
    assert sum(lp.token_logprobs[10:]) == pytest.approx(ll.logprob, abs=1e-4)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="other", messages=[{"role": "user", "content": "x"}], max_tokens=2
        )
    with pytest.raises(openai.BadRequestError, match="streaming"):
        client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "x"}], stream=True
        )


def test_requests_in_one_window_are_one_batch(chat_model) -> None:
    server = ServerThread(chat_model, ServeOptions(batch_window_s=2.0, max_batch=8))
    with server as url:
        barrier = threading.Barrier(4)
        answers: list[str] = [""] * 4

        def ask(i: int) -> None:
            barrier.wait()
            r = httpx.post(
                f"{url}/chat/completions",
                json={"messages": [{"role": "user", "content": f"q{i}"}], "max_tokens": 4},
                timeout=60,
            )
            answers[i] = r.json()["choices"][0]["message"]["content"]

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = httpx.get(f"{url}/finegate/stats").json()
    assert stats["generate_batches"] == [4]
    local = chat_model.generate(
        [GenerateRequest((Message("user", f"q{i}"),), GenerationParams(4)) for i in range(4)]
    )
    assert answers == [g.text for g in local]


def test_templated_system_serves_text_but_refuses_prompt_logprobs(chat_model) -> None:
    prompted = PromptTemplate(id="t", system="Answer briefly.").wrap(chat_model)
    with ServerThread(prompted) as url:
        client = OpenAICompatible(url, prompted.name)
        request = GenerateRequest((Message("user", "hi"),), PARAMS)
        assert client.generate([request])[0].text == prompted.generate([request])[0].text
        with pytest.raises(CapabilityError, match="without a prompt template"):
            client.loglikelihood([LoglikelihoodRequest("a", "b")])
        bad = httpx.post(f"{url}/chat/completions", content=b"{nope", timeout=10)
        assert bad.status_code == 400 and "not JSON" in bad.json()["error"]["message"]
        bad_role = httpx.post(
            f"{url}/chat/completions",
            json={"messages": [{"role": "tool", "content": "x"}]},
            timeout=10,
        )
        assert bad_role.status_code == 400
        assert bad_role.json()["error"]["param"] == "messages[0].role"
        with pytest.raises(EndpointError, match=r"HTTP 404: .*not served here") as e:
            OpenAICompatible(url, "another-model").generate([request])
        assert e.value.status == 404


def _suites(folder):
    import json as _json

    from finegate.harness import load_suite

    gen, mc = folder / "gen", folder / "mc"
    gen.mkdir(parents=True)
    mc.mkdir(parents=True)
    (gen / "suite.yaml").write_text(
        "id: e2e/gen\nversion: 1\nkind: task\nsource: {path: c.jsonl}\nprompt: '{{ input }}'\n"
        "generation: {max_new_tokens: 8}\n"
        "scorers: [{name: exact_match}, {name: token_f1}, {name: answer_tokens}, {name: length}]\n"
    )
    (gen / "c.jsonl").write_text(
        "".join(
            _json.dumps({"id": f"g{i}", "input": f"say {w}", "references": [w]}) + "\n"
            for i, w in enumerate(["yes", "no", "blue sky", "42", "hello", "ok"])
        )
    )
    (mc / "suite.yaml").write_text(
        "id: e2e/mc\nversion: 1\nkind: regression\ntask: multiple_choice\n"
        "source: {path: c.jsonl}\nprompt: 'Q: {{ input }}\\nA:'\n"
        "scorers: [{name: choice_accuracy}]\n"
    )
    (mc / "c.jsonl").write_text(
        "".join(
            _json.dumps(
                {
                    "id": f"m{i}",
                    "input": f"pick {i}",
                    "choices": ["yes", "no", "maybe"],
                    "answer": i % 3,
                }
            )
            + "\n"
            for i in range(6)
        )
    )
    return [load_suite(gen), load_suite(mc)]


def test_finegate_serve_subprocess_gives_in_process_scores(tiny_chat_llama, tmp_path) -> None:
    """End to end: `finegate serve` as a real process, a suite evaluated through it."""
    import os
    import subprocess
    import sys
    import time

    from finegate.harness import RunOptions, Store, run_suites
    from finegate.harness.serve import free_port

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "finegate.harness.cli",
            "serve",
            "--model",
            str(tiny_chat_llama),
            "--device",
            "cpu",
            "--port",
            str(port),
            "--served-name",
            "tiny-e2e",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "finegate serve did not start"
            time.sleep(0.2)
        suites = _suites(tmp_path)
        store = Store(tmp_path / "fg.db")
        local = HFModel(str(tiny_chat_llama), device="cpu")
        remote = OpenAICompatible(url, "tiny-e2e", tokenizer=str(tiny_chat_llama))
        a = run_suites(local, suites, store, RunOptions(progress=False))
        b = run_suites(remote, suites, store, RunOptions(progress=False))
        assert b.timings["computed"] > 0 and b.timings["cache_hits"] == 0
        for suite in suites:
            ma = {m.name: m for m in a.metrics[suite.id]}
            mb = {m.name: m for m in b.metrics[suite.id]}
            assert ma.keys() == mb.keys()
            for name in ma:
                assert (mb[name].value, mb[name].n) == pytest.approx((ma[name].value, ma[name].n))
            ra, rb = store.records(a.run_id, suite.id), store.records(b.run_id, suite.id)
            assert [r["scores"] for r in ra] == [r["scores"] for r in rb]
            assert [r["output"]["text"] for r in ra] == [r["output"]["text"] for r in rb]
        assert store.get_run(b.run_id)["system"]["model"] == "tiny-e2e"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_served_model_as_judge(chat_model, served) -> None:
    """A judge behind an endpoint: configured like a hosted judge, its noise an error."""
    from finegate.harness.judge import judge_pointwise, judge_system

    url, _ = served
    judge = judge_system({"endpoint": url, "model": "tiny", "concurrency": 2})
    assert judge.fingerprint() == OpenAICompatible(url, "tiny", api="chat").fingerprint()
    [v] = judge_pointwise(
        judge, "Is it right?", [("q", "a")], labels=["yes", "no"], max_new_tokens=4
    )
    assert v.score is None and v.error and v.attempts == 2
    remote = judge_system({"model": f"openai:tiny@{url}"})
    assert remote.base_url == url and remote.model == "tiny"
