"""``finegate serve``: any System as an OpenAI-compatible HTTP endpoint.

The same model, adapter and template that were evaluated in process answer
``POST /v1/chat/completions`` and ``POST /v1/completions`` (with ``echo`` and
``logprobs`` for scoring) and list themselves under ``GET /v1/models`` with their
fingerprint, so what is deployed is provably what was gated.

Requests that arrive within ``batch_window_s`` of each other are answered by one
``generate`` (or ``loglikelihood``) call of the System, up to ``max_batch``: a
model batches them as it does in an evaluation. Every call of the System runs on
one worker thread, since a model is not safe to call from two at once.

Prompt logprobs (``echo=true, max_tokens=0``) need the model's tokens: they are
available when the served system is a transformers model (with or without an
adapter); a prompt template would change the scored text, so a templated system
answers that request with a clear error.

fastapi and uvicorn (``pip install 'finegate[serve]'``) are imported only in this package.
"""

# no "from __future__ import annotations": fastapi reads the handlers' annotations at runtime

import asyncio
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from finegate.harness.core import (
    CapabilityError,
    GenerateRequest,
    GenerationParams,
    InputError,
    Message,
)
from finegate.harness.serve._batcher import Batcher, BatchStats
from finegate.harness.serve._logprobs import _scoring_model, prompt_logprobs
from finegate.harness.system import System

# -- request bodies ---------------------------------------------------------------------


def require_server_libraries() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise InputError(
            "finegate serve needs fastapi and uvicorn: pip install 'finegate[serve]'"
        ) from None


class ApiError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


def _content_text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts: only text is understood
        parts = []
        for part in content:
            if not (isinstance(part, dict) and part.get("type") == "text"):
                raise ApiError(400, "only text content parts are supported", where)
            parts.append(str(part.get("text", "")))
        return "".join(parts)
    raise ApiError(400, "content must be a string or a list of text parts", where)


def _params(body: dict[str, Any], default_max: int) -> GenerationParams:
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    stop = body.get("stop") or ()
    if isinstance(stop, str):
        stop = (stop,)
    try:
        return GenerationParams(
            max_new_tokens=default_max if max_tokens is None else int(max_tokens),
            temperature=float(
                body.get("temperature") if body.get("temperature") is not None else 0.0
            ),
            top_p=float(body.get("top_p") if body.get("top_p") is not None else 1.0),
            stop=tuple(str(s) for s in stop),
            seed=int(body.get("seed") or 0),
        )
    except (TypeError, ValueError) as e:
        raise ApiError(400, f"bad sampling parameter: {e}") from None


def _check_common(body: dict[str, Any], served: str) -> None:
    model = body.get("model")
    if model not in (None, served):
        raise ApiError(404, f"model {model!r} is not served here (serving {served!r})", "model")
    if body.get("stream"):
        raise ApiError(400, "streaming is not supported", "stream")
    if int(body.get("n") or 1) != 1:
        raise ApiError(400, "only n=1 is supported", "n")


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


# -- the app ----------------------------------------------------------------------------


@dataclass
class ServeOptions:
    batch_window_s: float = 0.01
    max_batch: int = 32
    default_max_tokens: int = 256
    served_name: str | None = None


def create_app(system: System, options: ServeOptions | None = None) -> Any:
    """A fastapi app serving ``system``; ``app.state.stats`` counts the batches."""
    require_server_libraries()
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    options = options or ServeOptions()
    served = options.served_name or system.name
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finegate-model")
    stats = BatchStats()
    generate = Batcher(
        system.generate, executor, options.batch_window_s, options.max_batch, stats.generate
    )
    fingerprint = system.fingerprint()
    scorer = _scoring_model(system)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        generate.start()
        yield
        await generate.stop()
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title=f"finegate: {served}", lifespan=lifespan)
    app.state.stats = stats

    def error(status: int, message: str, param: str | None = None) -> Any:
        kind = "invalid_request_error" if status < 500 else "server_error"
        return JSONResponse(
            {"error": {"message": message, "type": kind, "param": param, "code": None}},
            status_code=status,
        )

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "the request body is not JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        return body

    async def answer(prompt: Any, params: GenerationParams) -> Any:
        try:
            return await generate.submit(GenerateRequest(prompt, params))
        except (CapabilityError, InputError) as e:
            raise ApiError(400, str(e)) from None
        except Exception as e:
            raise ApiError(500, f"{type(e).__name__}: {e}") from None

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Any:
        return error(exc.status, exc.message, exc.param)

    @app.get("/v1/models")
    async def models() -> Any:
        return {
            "object": "list",
            "data": [
                {
                    "id": served,
                    "object": "model",
                    "created": 0,
                    "owned_by": "finegate",
                    "fingerprint": fingerprint,
                }
            ],
        }

    @app.get("/v1/finegate/stats")
    async def batch_stats() -> Any:
        return {"generate_batches": stats.generate, "logprob_requests": len(stats.loglikelihood)}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await body_of(request)
        _check_common(body, served)
        raw = body.get("messages")
        if not isinstance(raw, list) or not raw:
            raise ApiError(400, "messages must be a non-empty list", "messages")
        messages = []
        for i, m in enumerate(raw):
            role = m.get("role") if isinstance(m, dict) else None
            if role == "developer":
                role = "system"
            if role not in ("system", "user", "assistant"):
                raise ApiError(400, f"unsupported role {role!r}", f"messages[{i}].role")
            messages.append(Message(role, _content_text(m.get("content"), f"messages[{i}]")))
        g = await answer(tuple(messages), _params(body, options.default_max_tokens))
        return {
            "id": f"chatcmpl-{time.time_ns():x}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": served,
            "system_fingerprint": fingerprint[:16],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": g.text},
                    "finish_reason": g.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": _usage(g.prompt_tokens, g.completion_tokens),
        }

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        body = await body_of(request)
        _check_common(body, served)
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if not isinstance(prompt, str):
            raise ApiError(400, "prompt must be one string", "prompt")
        params = _params(body, options.default_max_tokens)
        want_logprobs = body.get("logprobs") is not None
        if body.get("echo"):
            if params.max_new_tokens != 0 or not want_logprobs:
                raise ApiError(400, "echo is supported with max_tokens=0 and logprobs", "echo")
            if scorer is None:
                raise ApiError(
                    400,
                    "prompt logprobs need the served system to be a transformers model "
                    "without a prompt template",
                    "echo",
                )
            stats.loglikelihood.append(1)
            loop = asyncio.get_running_loop()
            logprobs = await loop.run_in_executor(
                executor, prompt_logprobs, scorer, prompt, int(body["logprobs"])
            )
            text, usage = prompt, _usage(len(logprobs["tokens"]), 0)
            finish = "length"
        else:
            if want_logprobs:
                raise ApiError(400, "logprobs of generated tokens are not supported", "logprobs")
            g = await answer(prompt, params)
            text, logprobs, finish = g.text, None, g.finish_reason
            usage = _usage(g.prompt_tokens, g.completion_tokens)
        return {
            "id": f"cmpl-{time.time_ns():x}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": served,
            "system_fingerprint": fingerprint[:16],
            "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": logprobs}],
            "usage": usage,
        }

    return app
