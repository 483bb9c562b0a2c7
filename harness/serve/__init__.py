"""Any system, or a registered model by its aliases (with a sticky canary slice),
as an OpenAI-compatible endpoint: request batching, a redacted request log,
feedback from callers with tokens, and Prometheus metrics."""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "ServeOptions": "_app",
    "create_app": "_app",
    "Batcher": "_batcher",
    "BatchStats": "_batcher",
    "prompt_logprobs": "_logprobs",
    "serve": "_server",
    "serving": "_server",
    "ServerThread": "_server",
    "free_port": "_server",
    "AliasSource": "_aliases",
    "AliasFollower": "_aliases",
    "AliasRefused": "_aliases",
    "Batching": "_deployment",
    "canary_bucket": "_deployment",
    "CallerTokens": "_callers",
    "new_token": "_callers",
    "token_digest": "_callers",
    "RequestLog": "_request_log",
    "LogEntry": "_request_log",
    "Feedback": "_feedback",
    "FeedbackRefused": "_feedback",
    "record_feedback": "_feedback",
    "ServeMetrics": "_metrics",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
