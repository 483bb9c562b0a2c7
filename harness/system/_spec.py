"""``SystemSpec`` + ``build_system``: the one way to build a system from options.

The command line, a judge's YAML, the privacy commands, the pipeline and
lm-eval's ``model_args`` all name a system the same way, so they all get the
same checks and the same system for the same words: a local model (folder,
``.gguf`` file, embedded name or cached hub id) with an optional adapter, an
OpenAI-compatible endpoint (``endpoint`` + ``model``, or ``model:
openai:NAME@URL``), or a Python object (``python: module:attribute``, a System
or a function returning one: a rules engine, a RAG pipeline, a test double);
any of them behind a prompt template.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from finegate.harness.core import InputError, Problem
from finegate.harness.system._protocol import System


class SystemSpec(BaseModel):
    """A system under test, as options or YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = None
    adapter: str | None = None
    template: str | None = None
    dtype: str = "auto"
    device: str = "auto"
    load_in_4bit: bool = False
    batch_size: int = 8
    endpoint: str | None = None
    api_key_env: str | None = None
    api: str = "auto"
    concurrency: int = 8
    timeout_s: float = 60.0
    max_retries: int = 4
    python: str | None = None

    @classmethod
    def parse(cls, spec: Mapping[str, Any] | str, *, field: str | None = None) -> SystemSpec:
        """A spec from YAML (a mapping) or a bare model reference; every problem
        is reported at once, under ``field`` (``judge``, say) when given."""
        data = {"model": spec} if isinstance(spec, str) else dict(spec)
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise InputError(
                [
                    Problem(err["msg"], field=_under(field, ".".join(str(p) for p in err["loc"])))
                    for err in e.errors()
                ]
            ) from None


def _under(field: str | None, sub: str | None = None) -> str | None:
    if field and sub:
        return f"{field}.{sub}"
    return field or sub


def build_system(spec: SystemSpec, *, role: str = "system", field: str | None = None) -> System:
    """The system ``spec`` names. ``role`` and ``field`` word the errors (``a judge
    needs ...``, field ``judge.model``)."""
    chosen = [k for k in ("python", "endpoint") if getattr(spec, k)]
    if len(chosen) > 1 or (not chosen and not spec.model):
        raise InputError(
            Problem(
                f"a {role} needs exactly one of: model (a local model), endpoint + model, python",
                field=field,
            )
        )
    system: Any
    if spec.python:
        system = import_system(spec.python, field=_under(field, "python"))
    elif spec.endpoint or (spec.model or "").startswith("openai:"):
        from finegate.harness.system._openai import OpenAICompatible, parse_endpoint_ref

        if spec.endpoint:
            if not spec.model:
                raise InputError(
                    Problem(f"an endpoint {role} needs model", field=_under(field, "model"))
                )
            url, name = spec.endpoint, spec.model
        else:
            name, url = parse_endpoint_ref(spec.model or "")
        system = OpenAICompatible(
            url,
            name,
            api_key_env=spec.api_key_env,
            api=spec.api,
            concurrency=spec.concurrency,
            timeout_s=spec.timeout_s,
            max_retries=spec.max_retries,
        )
    else:
        from finegate.harness.system.hf import HFModel

        system = HFModel(
            spec.model or "",
            adapter=spec.adapter,
            dtype=spec.dtype,
            device=spec.device,
            load_in_4bit=spec.load_in_4bit,
            batch_size=spec.batch_size,
        )
    if spec.template:
        from finegate.harness.system._template import PromptTemplate

        system = PromptTemplate.from_yaml(spec.template).wrap(system)
    return system


def import_system(ref: str, *, field: str | None = "python") -> System:
    """``module:attribute``: a System, or a function that returns one."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise InputError(Problem(f"expected module:attribute, not {ref!r}", field=field))
    try:
        value = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise InputError(Problem(f"cannot import {ref!r}: {e}", field=field)) from None
    if not isinstance(value, System) and callable(value):
        value = value()
    if not isinstance(value, System):
        raise InputError(Problem(f"{ref!r} is not a System", field=field))
    return value


def rebuild_system(description: Mapping[str, Any]) -> System:
    """The system a run's description names (a local model, its adapter and its
    template), built again: how a registered version is served. Only local models
    can be rebuilt from a description; the caller checks the fingerprint."""
    inner = dict(description)
    template = None
    if inner.get("type") == "prompted":
        from finegate.harness.system._template import PromptTemplate

        template = PromptTemplate.model_validate(inner["template"])
        inner = dict(inner["inner"])
    if inner.get("type") != "hf":
        raise InputError(
            f"a system of type {inner.get('type')!r} cannot be rebuilt from its description: "
            "only a local model (with its adapter and template) can"
        )
    system = build_system(
        SystemSpec(
            model=inner["model"],
            adapter=inner.get("adapter"),
            dtype=str(inner.get("dtype") or "auto"),
            device=str(inner.get("device") or "auto"),
            load_in_4bit=bool(inner.get("load_in_4bit")),
        )
    )
    return template.wrap(system) if template is not None else system
