"""``CallableSystem``: any Python function as a system under test.

A RAG pipeline, a rules engine or a hand-written baseline is evaluated exactly
like a model. Its fingerprint hashes the function's source code (and an optional
version string), so editing the function invalidates cached answers.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from typing import Any

from finegate.harness.core import (
    CapabilityError,
    GenerateRequest,
    Generation,
    Loglikelihood,
    LoglikelihoodRequest,
    Prompt,
    sha256_json,
)


def _source_of(fn: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return getattr(fn, "__qualname__", repr(fn))


class CallableSystem:
    """Wrap ``generate_fn(prompt, params) -> str`` (and optionally
    ``loglikelihood_fn(context, continuation) -> float``)."""

    def __init__(
        self,
        generate_fn: Callable[..., str],
        *,
        name: str | None = None,
        version: str = "",
        loglikelihood_fn: Callable[[Prompt, str], float] | None = None,
    ):
        self.generate_fn = generate_fn
        self.loglikelihood_fn = loglikelihood_fn
        self.name = name or getattr(generate_fn, "__name__", "callable")
        self.version = version
        self._takes_params = len(inspect.signature(generate_fn).parameters) >= 2

    def fingerprint(self) -> str:
        return sha256_json(
            {
                "type": "callable",
                "name": self.name,
                "version": self.version,
                "generate": _source_of(self.generate_fn),
                "loglikelihood": _source_of(self.loglikelihood_fn)
                if self.loglikelihood_fn
                else None,
            }
        )

    def execution_key(self) -> str:
        return "python"

    def describe(self) -> dict[str, Any]:
        return {
            "type": "callable",
            "name": self.name,
            "version": self.version,
            "fingerprint": self.fingerprint(),
        }

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Generation]:
        out = []
        for r in requests:
            t0 = time.perf_counter()
            text = (
                self.generate_fn(r.prompt, r.params)
                if self._takes_params
                else self.generate_fn(r.prompt)
            )
            if not isinstance(text, str):
                raise TypeError(f"{self.name} returned {type(text).__name__}, expected str")
            out.append(Generation(text, 0, len(text.split()), "stop", time.perf_counter() - t0))
        return out

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Loglikelihood]:
        if self.loglikelihood_fn is None:
            raise CapabilityError(
                f"{self.name} has no loglikelihood function; pass "
                "loglikelihood_fn= to CallableSystem to run multiple-choice suites"
            )
        out = []
        for r in requests:
            t0 = time.perf_counter()
            lp = float(self.loglikelihood_fn(r.context, r.continuation))
            out.append(Loglikelihood(lp, False, 0, time.perf_counter() - t0))
        return out
