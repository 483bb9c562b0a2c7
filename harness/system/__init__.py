"""Systems under test: anything that answers prompts.

``System`` is the protocol; ``HFModel`` (in ``system.hf``), ``OpenAICompatible``
and ``CallableSystem`` implement it; a ``PromptTemplate`` wraps any of them.
``SystemSpec`` + ``build_system`` is the one way to build a system from options
(the command line, a judge's YAML, the pipeline, lm-eval's ``model_args``).
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

_EXPORTS = {
    "System": "_protocol",
    "innermost": "_protocol",
    "innermost_system": "_protocol",
    "render_plain": "_protocol",
    "PromptTemplate": "_template",
    "PromptedSystem": "_template",
    "Shot": "_template",
    "CallableSystem": "_callable",
    "OpenAICompatible": "_openai",
    "EndpointError": "_openai",
    "parse_endpoint_ref": "_openai",
    "SystemSpec": "_spec",
    "TRAINING_MANIFEST_FILE": "_training",
    "DATASET_MANIFEST_FILE": "_training",
    "adapter_weights_sha256": "_training",
    "training_evidence": "_training",
    "RecordedTraining": "_training",
    "recorded_training": "_training",
    "build_system": "_spec",
    "rebuild_system": "_spec",
    "HFModel": "hf._model",
    "embedded_models": "hf._embedded",
    "ensure_embedded": "hf._embedded",
    "DEFAULT_MODEL": "hf._embedded",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
