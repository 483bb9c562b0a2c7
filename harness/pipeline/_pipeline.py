"""The end-to-end pipeline: a list of named steps, looked up by name.

Each package contributes the steps it owns through the ``finegate.steps`` entry
point group (train: ``prepare``, ``train``; harness: ``evaluate``, ``register``;
gates: ``gate``, ``promote``; reports: ``report``), so harness runs a pipeline
without importing what stands above it. A step takes the shared context and
returns what it adds to it; the pipeline's state file records every finished
step with its result, and a re-run skips them (each step is also idempotent on
its own: training reuses a finished adapter, evaluation answers from the cache,
registration reuses a version with the same fingerprint). The first step that
fails stops the pipeline with its reason.

Registration comes before the gate: a promotion needs a verdict made after the
version was registered, so that a verdict can never be older than its model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finegate.harness.core import FinegateError, PluginRegistry, atomic_write_text, sha256_json

Step = Callable[["PipelineContext"], dict[str, Any]]

pipeline_steps: PluginRegistry[Step] = PluginRegistry("pipeline step", "finegate.steps")


DEFAULT_STEPS = ("prepare", "train", "evaluate", "register", "gate", "promote", "report")


class StepFailed(FinegateError):
    def __init__(self, step: str, reason: str):
        self.step, self.reason = step, reason
        super().__init__(f"pipeline stopped at step {step!r}: {reason}")


def step(
    name: str, *, content: Callable[[PipelineContext], Any] | None = None
) -> Callable[[Step], Step]:
    """Register a step. ``content`` digests what the step reads beyond the inputs'
    own values (a recipe's file and data, a suite's cases, a trust root): a re-run
    whose digest differs re-runs the step and every step after it, instead of
    printing results computed from what is no longer there."""

    def wrap(fn: Step) -> Step:
        fn.content_digest = content  # type: ignore[attr-defined]
        return pipeline_steps.decorator(name)(fn)

    return wrap


def content_digests(context: PipelineContext, steps: tuple[str, ...] | list[str]) -> dict[str, Any]:
    out = {}
    for name in steps:
        digest = getattr(pipeline_steps.get(name), "content_digest", None)
        out[name] = sha256_json(digest(context)) if digest is not None else None
    return out


@dataclass
class PipelineContext:
    """What the steps share: the inputs, then each step's results."""

    inputs: dict[str, Any]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: Callable[[str], None] = print

    def get(self, key: str) -> Any:
        for result in reversed(list(self.results.values())):
            if key in result:
                return result[key]
        return self.inputs.get(key)


def run_pipeline(
    context: PipelineContext, steps: tuple[str, ...] | list[str], state_path: Path | None = None
) -> PipelineContext:
    done: dict[str, Any] = {}
    digests = content_digests(context, steps)
    if state_path is not None and state_path.is_file():
        saved = json.loads(state_path.read_text("utf-8"))
        if saved.get("inputs") == _jsonable(context.inputs):
            for name in steps:  # reuse up to the first step whose content changed
                if name not in saved.get("results", {}):
                    break
                if saved.get("digests", {}).get(name) != digests[name]:
                    context.log(f"[{name}] what it reads changed since the last run: run again")
                    break
                done[name] = saved["results"][name]
    for name in steps:
        if name in done:
            context.results[name] = done[name]
            context.log(f"[{name}] done before: skipped")
            continue
        fn = pipeline_steps.get(name)
        context.log(f"[{name}] ...")
        started = time.perf_counter()
        try:
            result = fn(context) or {}
        except StepFailed:
            raise
        except FinegateError as e:
            raise StepFailed(name, str(e)) from None
        context.results[name] = {**result, "seconds": round(time.perf_counter() - started, 1)}
        if state_path is not None:
            atomic_write_text(
                state_path,
                json.dumps(
                    {
                        "inputs": _jsonable(context.inputs),
                        "digests": digests,
                        "results": context.results,
                    },
                    indent=2,
                    sort_keys=True,
                    default=str,
                )
                + "\n",
            )
        context.log(f"[{name}] done in {context.results[name]['seconds']} s")
    return context


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))
