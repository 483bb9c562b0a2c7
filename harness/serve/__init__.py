"""Any system as an OpenAI-compatible endpoint, with request batching."""

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
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
