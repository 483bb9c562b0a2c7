"""Ground floor: what every other package stands on.

Errors that name the file, line and field; the frozen values that travel between
suites, systems, scorers and the store; content hashing; atomic writes; where
finegate keeps its files; YAML, JSON and JSONL reading with located errors;
named plugin registries; lazy package faces; progress lines; text normalisation.
Nothing here imports another finegate package.
"""

from __future__ import annotations

from finegate.harness.core._lazy import lazy_exports

_EXPORTS = {
    "FinegateError": "_errors",
    "InputError": "_errors",
    "StoreError": "_errors",
    "CapabilityError": "_errors",
    "NotBuiltError": "_errors",
    "Problem": "_errors",
    "Case": "_types",
    "Message": "_types",
    "Role": "_types",
    "Prompt": "_types",
    "GenerationParams": "_types",
    "GenerateRequest": "_types",
    "LoglikelihoodRequest": "_types",
    "Generation": "_types",
    "Loglikelihood": "_types",
    "Output": "_types",
    "MetricValue": "_types",
    "prompt_to_json": "_types",
    "last_turn_text": "_types",
    "canonical_json": "_hashing",
    "sha256_text": "_hashing",
    "sha256_json": "_hashing",
    "sha256_file": "_hashing",
    "sha256_files": "_hashing",
    "atomic_write_bytes": "_atomic",
    "atomic_write_text": "_atomic",
    "home": "_paths",
    "check_private": "_paths",
    "models_dir": "_paths",
    "default_store_url": "_paths",
    "format_loc": "_config",
    "line_of": "_config",
    "problems_from_validation": "_config",
    "read_yaml": "_config",
    "parse_yaml_model": "_config",
    "load_yaml_model": "_config",
    "jsonl_objects": "_config",
    "read_jsonl": "_config",
    "PluginRegistry": "_plugins",
    "lazy_exports": "_lazy",
    "progress_bar": "_progress",
    "normalize_text": "_text",
    "parse_json_answer": "_text",
    "read_json_file": "_json_file",
    "quiet_library_noise": "_quiet",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
