"""``finegate serve``: any System, or a registered model by its aliases, as an
OpenAI-compatible HTTP endpoint.

The same model, adapter and template that were evaluated in process answer
``POST /v1/chat/completions`` and ``POST /v1/completions`` (with ``echo`` and
``logprobs`` for scoring) and list themselves under ``GET /v1/models`` with their
fingerprint, so what is deployed is provably what was gated. Every answer names
the version that gave it (the ``finegate`` field and ``X-Finegate-Version``),
and its id is the one ``POST /v1/feedback`` takes. With a request log, each
request is written (redacted) before it is answered; ``GET /metrics`` is in
Prometheus' format.

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
from dataclasses import dataclass
from typing import Any

from finegate.harness.core import (
    Message,
)
from finegate.harness.serve._aliases import AliasFollower
from finegate.harness.serve._batcher import BatchStats
from finegate.harness.serve._callers import CallerTokens
from finegate.harness.serve._deployment import Batching, Deployment, FixedDeployment
from finegate.harness.serve._feedback import Feedback, FeedbackRefused, record_feedback
from finegate.harness.serve._logprobs import prompt_logprobs
from finegate.harness.serve._metrics import ServeMetrics
from finegate.harness.serve._recording import Prices, Record, Recorder
from finegate.harness.serve._request_log import RequestLog
from finegate.harness.serve._requests import (
    ApiError,
    check_common,
    content_text,
    require_server_libraries,
    sampling_params,
    token_usage,
    wants_json,
)
from finegate.harness.system import System

# -- the app ----------------------------------------------------------------------------


@dataclass
class ServeOptions:
    """How a server batches, names itself, logs, prices and knows its callers.

    Without ``callers`` anyone may ask, and the caller (for the sticky canary
    slice and the log) is the ``X-Finegate-Caller`` header or the body's ``user``;
    feedback is then refused, since no one could be held to their own requests.
    With ``callers`` every request needs its caller's token. ``batch_window_s`` and
    ``max_batch`` batch a fixed system; an ``AliasFollower`` brings its own
    ``Batching`` for every version it serves."""

    batch_window_s: float = 0.01
    max_batch: int = 32
    default_max_tokens: int = 256
    served_name: str | None = None
    request_log: RequestLog | None = None
    callers: CallerTokens | None = None
    cost_per_1k_prompt_tokens: float = 0.0
    cost_per_1k_completion_tokens: float = 0.0


def create_app(target: System | AliasFollower, options: ServeOptions | None = None) -> Any:
    """A fastapi app serving a system, or a registered model's aliases
    (``AliasFollower``); ``app.state.stats`` counts the batches and
    ``app.state.deployment`` holds what is served."""
    require_server_libraries()
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response

    options = options or ServeOptions()
    stats = BatchStats()
    batching = Batching(options.batch_window_s, options.max_batch)
    metrics = ServeMetrics()
    follower: AliasFollower | None = None
    deployment: Deployment
    if isinstance(target, AliasFollower):
        follower = target
        stats = follower.stats  # the batches of every version it serves
        deployment = follower.deployment
        follower.on_refused = lambda alias, _message: metrics.alias_refusals.labels(alias).inc()
        for alias, _version in follower.refused:
            metrics.alias_refusals.labels(alias).inc()
    else:
        deployment = FixedDeployment(target, options.served_name or target.name, batching, stats)
    served = options.served_name or deployment.served_name
    request_log = options.request_log
    recorder = Recorder(
        request_log,
        metrics,
        Prices(options.cost_per_1k_prompt_tokens, options.cost_per_1k_completion_tokens),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        if request_log is not None:
            await asyncio.get_running_loop().run_in_executor(None, request_log.start)
        await deployment.start()
        following = asyncio.get_running_loop().create_task(follower.follow()) if follower else None
        yield
        if following is not None:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
            follower.close()  # type: ignore[union-attr]
        await deployment.stop()
        if request_log is not None:
            request_log.stop()

    app = FastAPI(title=f"finegate: {served}", lifespan=lifespan)
    app.state.stats = stats
    app.state.deployment = deployment
    app.state.metrics = metrics

    def error(status: int, message: str, param: str | None = None) -> Any:
        kind = "invalid_request_error" if status < 500 else "server_error"
        if status in (401, 403):
            kind = "authentication_error"
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

    def caller_of(request: Request, body: dict[str, Any] | None) -> str | None:
        if options.callers is not None:
            caller = options.callers.caller_of(request.headers.get("authorization"))
            if caller is None:
                metrics.failed("-", "-", 401)
                raise ApiError(401, "a caller's token is needed: Authorization: Bearer TOKEN")
            return caller
        named = request.headers.get("x-finegate-caller") or (body or {}).get("user")
        return str(named) if named else None

    def answered_by(payload: dict[str, Any], record: Record) -> Any:
        slot, alias, request_id = record.slot, record.alias, record.request_id
        payload["id"] = request_id
        payload["system_fingerprint"] = slot.fingerprint[:16]
        payload["finegate"] = {
            "request_id": request_id,
            "version": slot.label,
            "alias": alias,
            "fingerprint": slot.fingerprint,
        }
        return JSONResponse(
            payload,
            headers={
                "x-finegate-request-id": request_id,
                "x-finegate-version": slot.label,
                "x-finegate-alias": alias,
            },
        )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Any:
        return error(exc.status, exc.message, exc.param)

    @app.exception_handler(FeedbackRefused)
    async def _feedback_refused(request: Request, exc: FeedbackRefused) -> Any:
        return error(exc.status, exc.message, exc.param)

    @app.get("/v1/models")
    async def models() -> Any:
        data = deployment.describe()
        data[0]["id"] = served
        return {"object": "list", "data": data}

    @app.get("/v1/finegate/stats")
    async def batch_stats() -> Any:
        return {"generate_batches": stats.generate, "logprob_requests": len(stats.loglikelihood)}

    @app.get("/metrics")
    async def prometheus() -> Any:
        content, media_type = metrics.render()
        return Response(content, media_type=media_type)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await body_of(request)
        caller = caller_of(request, body)
        check_common(body, served)
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
            messages.append(Message(role, content_text(m.get("content"), f"messages[{i}]")))
        params = sampling_params(body, options.default_max_tokens)
        slot, alias = deployment.route(caller)
        logged = [{"role": m.role, "content": m.content} for m in messages]
        record = recorder.open(slot, alias, caller, "chat", logged)
        slot.enter()
        try:
            g = await record.generate(tuple(messages), params, wants_json(body))
        finally:
            slot.leave()
        return answered_by(
            {
                "object": "chat.completion",
                "created": int(time.time()),
                "model": served,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": g.text},
                        "finish_reason": g.finish_reason,
                        "logprobs": None,
                    }
                ],
                "usage": token_usage(g.prompt_tokens, g.completion_tokens),
            },
            record,
        )

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        body = await body_of(request)
        caller = caller_of(request, body)
        check_common(body, served)
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if not isinstance(prompt, str):
            raise ApiError(400, "prompt must be one string", "prompt")
        params = sampling_params(body, options.default_max_tokens)
        want_logprobs = body.get("logprobs") is not None
        slot, alias = deployment.route(caller)
        endpoint = "logprobs" if body.get("echo") else "completions"
        record = recorder.open(slot, alias, caller, endpoint, prompt)
        slot.enter()
        try:
            if body.get("echo"):
                if params.max_new_tokens != 0 or not want_logprobs:
                    raise ApiError(400, "echo is supported with max_tokens=0 and logprobs", "echo")
                if slot.scorer is None:
                    raise ApiError(
                        400,
                        "prompt logprobs need the served system to be a transformers model "
                        "without a prompt template",
                        "echo",
                    )
                stats.loglikelihood.append(1)
                loop = asyncio.get_running_loop()
                try:
                    logprobs = await loop.run_in_executor(
                        slot.executor, prompt_logprobs, slot.scorer, prompt, int(body["logprobs"])
                    )
                except Exception as e:
                    message = f"{type(e).__name__}: {e}"
                    await record.failed(500, message)
                    raise ApiError(500, message) from None
                await record.answered(None, len(logprobs["tokens"]), 0, False)
                text, usage = prompt, token_usage(len(logprobs["tokens"]), 0)
                finish = "length"
            else:
                if want_logprobs:
                    raise ApiError(
                        400, "logprobs of generated tokens are not supported", "logprobs"
                    )
                g = await record.generate(prompt, params, wants_json(body))
                text, logprobs, finish = g.text, None, g.finish_reason
                usage = token_usage(g.prompt_tokens, g.completion_tokens)
        finally:
            slot.leave()
        return answered_by(
            {
                "object": "text_completion",
                "created": int(time.time()),
                "model": served,
                "choices": [
                    {"index": 0, "text": text, "finish_reason": finish, "logprobs": logprobs}
                ],
                "usage": usage,
            },
            record,
        )

    @app.post("/v1/feedback")
    async def feedback(request: Request) -> Any:
        if options.callers is None:
            raise ApiError(
                401,
                "this server takes feedback only from callers with tokens: start it with --tokens",
            )
        caller = caller_of(request, None)
        if request_log is None:
            raise ApiError(503, "feedback needs the request log, which this server does not keep")
        given = Feedback.parse(await body_of(request))
        loop = asyncio.get_running_loop()
        answered = await loop.run_in_executor(
            None, record_feedback, request_log.store, given, recorder.caller_hash(caller)
        )
        label = (
            f"{answered['name']}:{answered['version']}" if answered["version"] else answered["name"]
        )
        metrics.feedback_given(label, answered["alias"] or "-", given.thumbs, given.task_completed)
        return {"ok": True, "request_id": given.request_id, "version": label}

    return app
