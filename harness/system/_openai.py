"""``OpenAICompatible``: any endpoint that speaks the OpenAI API as a system under test.

vLLM, TGI, a llama.cpp server, ``finegate serve`` and hosted APIs all answer
``/v1/chat/completions`` and ``/v1/completions``. Conversations go to the chat API
(the server applies the model's chat template); raw text goes to the completions
API verbatim, as for a local model.

Requests run concurrently (asyncio + httpx, at most ``concurrency`` in flight).
A 429, a 5xx, a timeout or a dropped connection is retried with exponential
backoff (seeded jitter, ``Retry-After`` honoured); any other 4xx fails at once,
with the server's message. Token usage comes from the response's ``usage``, so
cost scorers see what the provider bills; latency is what a caller waited,
retries included.

``loglikelihood`` uses the completions API with ``echo=True, logprobs=1,
max_tokens=0`` (the prompt's own token logprobs). An endpoint that does not
return them raises ``CapabilityError``. The continuation's tokens are those
that start at or after the end of the context (a token merged across the seam
stays with the context); trailing whitespace of the context moves to the
continuation: the split lm-eval and ``HFModel`` make, so scores match.

The API key is read from the environment variable named by ``api_key_env`` when
a request is sent, and never kept: not in the fingerprint, the description, the
run, nor any error message.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from typing import Any, TypeVar

from finegate.harness.core import (
    CapabilityError,
    FinegateError,
    GenerateRequest,
    Generation,
    GenerationParams,
    InputError,
    Loglikelihood,
    LoglikelihoodRequest,
    Problem,
    Prompt,
    sha256_json,
)
from finegate.harness.system._protocol import render_plain

T = TypeVar("T")


RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class EndpointError(FinegateError):
    """The endpoint failed for good: a client error, or still failing after the retries."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def parse_endpoint_ref(ref: str) -> tuple[str, str]:
    """``openai:NAME@URL`` -> (NAME, URL)."""
    body = ref.removeprefix("openai:")
    for scheme in ("@http://", "@https://"):
        at = body.rfind(scheme)
        if at > 0:
            return body[:at], body[at + 1 :]
    raise InputError(
        Problem(
            f"an endpoint model is written openai:NAME@URL (e.g. openai:my-model@"
            f"http://127.0.0.1:8000/v1), not {ref!r}",
            field="model",
        )
    )


def _run(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code, also when the caller
    already has an event loop running (a notebook, a server): then in a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())  # type: ignore[arg-type]
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make())  # type: ignore[arg-type]
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class OpenAICompatible:
    """A model behind an OpenAI-compatible HTTP endpoint.

    ``api``: ``auto`` (conversations to chat, raw text to completions), ``chat``
    (raw text sent as one user turn) or ``completions`` (conversations rendered
    as plain text). ``extra_body`` is merged into every request (``top_k`` for
    vLLM, say) and is part of the fingerprint. ``tokenizer``: a local tokenizer
    folder whose chat template renders conversation contexts for
    ``loglikelihood`` (the completions API takes text only).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        api: str = "auto",
        concurrency: int = 8,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        extra_body: dict[str, Any] | None = None,
        tokenizer: str | None = None,
        name: str | None = None,
    ):
        problems = []
        if not base_url.startswith(("http://", "https://")):
            problems.append(Problem(f"not an http(s) URL: {base_url!r}", field="endpoint"))
        if not model:
            problems.append(Problem("the endpoint's model name is empty", field="endpoint_model"))
        if api not in ("auto", "chat", "completions"):
            problems.append(Problem(f"api must be auto, chat or completions: {api!r}", field="api"))
        if concurrency < 1:
            problems.append(Problem("concurrency must be at least 1", field="concurrency"))
        if max_retries < 0:
            problems.append(Problem("max_retries must be 0 or more", field="max_retries"))
        if problems:
            raise InputError(problems)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.api = api
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.extra_body = dict(extra_body or {})
        self.tokenizer_path = tokenizer
        self._tokenizer: Any = None
        self.name = name or f"{model}@{self.base_url}"
        self.retries = 0  # retried requests since creation, for the curious

    # -- identity -----------------------------------------------------------------------

    def fingerprint(self) -> str:
        from finegate.harness.system.hf._loading import weights_hash

        tokenizer = None
        if self.tokenizer_path:
            from pathlib import Path

            tokenizer = weights_hash(Path(self.tokenizer_path))
        return sha256_json(
            {
                "type": "openai",
                "url": self.base_url,
                "model": self.model,
                "api": self.api,
                "extra_body": self.extra_body,
                "tokenizer": tokenizer,
            }
        )

    def execution_key(self) -> str:
        return "endpoint"

    def describe(self) -> dict[str, Any]:
        return {
            "type": "openai",
            "name": self.name,
            "model": self.model,
            "url": self.base_url,
            "api": self.api,
            "api_key_env": self.api_key_env,
            "extra_body": self.extra_body,
            "concurrency": self.concurrency,
            "fingerprint": self.fingerprint(),
        }

    # -- HTTP ---------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise InputError(
                    Problem(
                        f"environment variable {self.api_key_env} (the API key) is not set",
                        field="api_key_env",
                    )
                )
            headers["Authorization"] = f"Bearer {key}"
        return headers

    async def _post_all(self, path: str, bodies: Sequence[dict[str, Any]]) -> list[Any]:
        """POST every body, ``concurrency`` at a time; (json, seconds) per body, in order."""
        import httpx

        semaphore = asyncio.Semaphore(self.concurrency)
        rng = random.Random(0)
        limits = httpx.Limits(max_connections=self.concurrency)
        async with httpx.AsyncClient(
            base_url=self.base_url,
            headers=self._headers(),
            timeout=httpx.Timeout(self.timeout_s),
            limits=limits,
        ) as client:

            async def one(body: dict[str, Any]) -> tuple[Any, float]:
                started = time.perf_counter()
                for attempt in range(self.max_retries + 1):
                    wait: float | None = None
                    async with semaphore:
                        try:
                            response = await client.post(path, json=body)
                        except (httpx.TimeoutException, httpx.TransportError) as e:
                            why = f"{type(e).__name__}: {e}".rstrip(": ")
                        else:
                            if response.status_code < 400:
                                try:
                                    data = response.json()
                                except ValueError:
                                    raise EndpointError(
                                        f"{self.base_url}{path}: the response is not JSON"
                                    ) from None
                                return data, time.perf_counter() - started
                            why = f"HTTP {response.status_code}: {_snippet(response.text)}"
                            if response.status_code not in RETRY_STATUS:
                                raise EndpointError(
                                    f"{self.base_url}{path}: {why}", response.status_code
                                )
                            wait = _retry_after(response.headers.get("retry-after"))
                    if attempt == self.max_retries:
                        break
                    self.retries += 1
                    backoff = self.backoff_s * 2**attempt * (0.5 + rng.random() / 2)
                    await asyncio.sleep(min(self.max_backoff_s, wait if wait else backoff))
                raise EndpointError(
                    f"{self.base_url}{path}: still failing after {self.max_retries} retries ({why})"
                )

            return await asyncio.gather(*(one(b) for b in bodies))

    def _post(self, path: str, bodies: Sequence[dict[str, Any]]) -> list[tuple[Any, float]]:
        if not bodies:
            return []
        return _run(lambda: self._post_all(path, bodies))

    # -- generation ---------------------------------------------------------------------

    def _sampling(self, params: GenerationParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        return {**body, **self.extra_body}

    def _uses_chat(self, prompt: Prompt) -> bool:
        if self.api == "chat":
            return True
        if self.api == "completions":
            return False
        return not isinstance(prompt, str)

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Generation]:
        chat = [i for i, r in enumerate(requests) if self._uses_chat(r.prompt)]
        plain = [i for i, r in enumerate(requests) if not self._uses_chat(r.prompt)]
        out: list[Generation | None] = [None] * len(requests)
        chat_bodies = [
            {
                **self._sampling(requests[i].params),
                "messages": _messages(requests[i].prompt),
            }
            for i in chat
        ]
        plain_bodies = [
            {**self._sampling(requests[i].params), "prompt": _text(requests[i].prompt)}
            for i in plain
        ]
        for indices, path, bodies in (
            (chat, "/chat/completions", chat_bodies),
            (plain, "/completions", plain_bodies),
        ):
            for i, (data, seconds) in zip(indices, self._post(path, bodies), strict=True):
                out[i] = _generation(data, path, seconds, self.base_url)
        return [g for g in out if g is not None]

    # -- scoring ------------------------------------------------------------------------

    def _context_text(self, context: Prompt) -> str:
        if isinstance(context, str):
            return context
        if not self.tokenizer_path:
            raise CapabilityError(
                f"{self.name}: scoring a conversation through the completions API needs the "
                "model's chat template to render it; give tokenizer= (a local tokenizer "
                "folder) or use raw-text contexts"
            )
        if self._tokenizer is None:
            from pathlib import Path

            from finegate.harness.system.hf._loading import load_tokenizer

            self._tokenizer = load_tokenizer(Path(self.tokenizer_path))
        from finegate.harness.system.hf._prompts import render_prompt

        return render_prompt(self._tokenizer, context)

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Loglikelihood]:
        splits = []
        for r in requests:
            context, continuation = self._context_text(r.context), r.continuation
            n_spaces = len(context) - len(context.rstrip())
            if n_spaces and isinstance(r.context, str):
                context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
            splits.append((context, continuation))
        bodies = [
            {
                "model": self.model,
                "prompt": context + continuation,
                "max_tokens": 0,
                "echo": True,
                "logprobs": 1,
                "temperature": 0.0,
                **self.extra_body,
            }
            for context, continuation in splits
        ]
        try:
            answers = self._post("/completions", bodies)
        except EndpointError as e:
            if e.status in (400, 422, 501):
                raise CapabilityError(
                    f"{self.name}: the endpoint refused prompt logprobs (completions API with "
                    f"echo=true, logprobs=1, max_tokens=0): {e}"
                ) from None
            raise
        out = []
        for (context, _), (data, seconds) in zip(splits, answers, strict=True):
            out.append(_continuation_logprob(data, len(context), seconds, self.name))
        return out


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _messages(prompt: Prompt) -> list[dict[str, str]]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [asdict(m) for m in prompt]


def _text(prompt: Prompt) -> str:
    return prompt if isinstance(prompt, str) else render_plain(prompt)


def _choice(data: Any, where: str) -> dict[str, Any]:
    try:
        choice = data["choices"][0]
    except (KeyError, IndexError, TypeError):
        raise EndpointError(
            f"{where}: the response has no choices: {_snippet(json.dumps(data))}"
        ) from None
    if not isinstance(choice, dict):
        raise EndpointError(f"{where}: malformed choice: {_snippet(json.dumps(choice))}")
    return choice


def _generation(data: Any, path: str, seconds: float, base_url: str) -> Generation:
    choice = _choice(data, base_url + path)
    if path == "/chat/completions":
        text = (choice.get("message") or {}).get("content") or ""
    else:
        text = choice.get("text") or ""
    usage = data.get("usage") or {}
    finish = choice.get("finish_reason") or "stop"
    return Generation(
        text=text,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        finish_reason="length" if finish == "length" else "stop",
        latency_s=seconds,
    )


def _continuation_logprob(
    data: Any, context_chars: int, seconds: float, name: str
) -> Loglikelihood:
    choice = _choice(data, name)
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict) or not logprobs.get("token_logprobs"):
        raise CapabilityError(
            f"{name}: the endpoint returned no prompt logprobs (completions API with "
            "echo=true, logprobs=1, max_tokens=0); multiple-choice suites need an endpoint "
            "that does, such as vLLM or finegate serve"
        )
    tokens = logprobs.get("tokens") or []
    token_lps = logprobs["token_logprobs"]
    offsets = logprobs.get("text_offset") or []
    tops = logprobs.get("top_logprobs") or [None] * len(tokens)
    if not (len(tokens) == len(token_lps) == len(offsets)):
        raise EndpointError(f"{name}: tokens, token_logprobs and text_offset differ in length")
    total, greedy, n = 0.0, True, 0
    for token, lp, offset, top in zip(tokens, token_lps, offsets, tops, strict=False):
        # as lm-eval and HFModel split: a token that merged the context's end with the
        # continuation's start is the context's, and the continuation begins after it
        if offset < context_chars:
            continue
        if lp is None:
            raise CapabilityError(f"{name}: the endpoint gave no logprob for a continuation token")
        total += float(lp)
        n += 1
        if isinstance(top, dict) and top:
            best = max(top.items(), key=lambda kv: kv[1])[0]
            greedy = greedy and best == token
    return Loglikelihood(total if n else 0.0, greedy, n, seconds)
