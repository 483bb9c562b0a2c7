"""Transformers models as systems: ``HFModel`` and what it stands on.

Loading (local folders, ``.gguf`` files, embedded models, cached hub ids, PEFT
adapters, 4-bit NF4), prompt rendering shared with training, continuous-batching
greedy decoding with an in-place KV cache, and shared-context scoring.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "HFModel": "_model",
    "rolling_windows": "_score",
    "resolve_model_ref": "_loading",
    "check_model_folder": "_loading",
    "check_adapter_folder": "_loading",
    "content_files": "_loading",
    "weights_hash": "_loading",
    "load_tokenizer": "_loading",
    "load_causal_lm": "_loading",
    "quantization_kwargs": "_loading",
    "pick_device": "_loading",
    "pick_dtype": "_loading",
    "uses_chat_template": "_prompts",
    "render_prompt": "_prompts",
    "greedy_decode": "_decode",
    "supports_continuous_batching": "_decode",
    "Decoded": "_decode",
    "ReservedLayer": "_kv_buffer",
    "reserved_cache": "_kv_buffer",
    "layer_tensors": "_kv_buffer",
    "SharedRow": "_shared_prefix",
    "group_by_prefix": "_shared_prefix",
    "EmbeddedModel": "_embedded",
    "embedded_models": "_embedded",
    "ensure_embedded": "_embedded",
    "DEFAULT_MODEL": "_embedded",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
