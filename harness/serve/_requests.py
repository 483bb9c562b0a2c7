"""The OpenAI request bodies a server reads, and the errors it answers with."""

from __future__ import annotations

import json
from typing import Any

from finegate.harness.core import GenerationParams, InputError


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


def content_text(content: Any, where: str) -> str:
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


def sampling_params(body: dict[str, Any], default_max: int) -> GenerationParams:
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


def check_common(body: dict[str, Any], served: str) -> None:
    model = body.get("model")
    if model not in (None, served):
        raise ApiError(404, f"model {model!r} is not served here (serving {served!r})", "model")
    if body.get("stream"):
        raise ApiError(400, "streaming is not supported", "stream")
    if int(body.get("n") or 1) != 1:
        raise ApiError(400, "only n=1 is supported", "n")


def token_usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def wants_json(body: dict[str, Any]) -> bool:
    kind = (body.get("response_format") or {}).get("type") if isinstance(body, dict) else None
    return kind in ("json_object", "json_schema")


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
