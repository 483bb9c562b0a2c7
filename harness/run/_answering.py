"""Answering requests through the response cache: the store first, the system
for the misses. A key hashes the system's fingerprint, its execution kind and
the request, and nothing else."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from finegate.harness.core import (
    GenerateRequest,
    Generation,
    Loglikelihood,
    LoglikelihoodRequest,
    sha256_json,
)
from finegate.harness.store import Store
from finegate.harness.system import System


def _cache_key(system: System, kind: str, request: dict[str, Any]) -> str:
    return sha256_json(
        {
            "fingerprint": system.fingerprint(),
            "execution": system.execution_key(),
            "kind": kind,
            "request": request,
        }
    )


class _Cached:
    """Answers requests from the store's cache first, the system second."""

    def __init__(self, system: System, store: Store, use_cache: bool):
        self.system, self.store, self.use_cache = system, store, use_cache
        self.hits = 0
        self.misses = 0
        self.pending: list[tuple[str, str, dict[str, Any]]] = []

    def _answer(
        self,
        kind: str,
        requests: Sequence[Any],
        compute: Callable[[list[Any]], list[Any]],
        build: Callable[..., Any],
    ) -> list[Any]:
        keys = [_cache_key(self.system, kind, r.to_dict()) for r in requests]
        found = self.store.cached_responses(keys) if self.use_cache else {}
        missing = [i for i, k in enumerate(keys) if k not in found]
        fresh = compute([requests[i] for i in missing]) if missing else []
        out: list[Any] = [None] * len(requests)
        for i, response in zip(missing, fresh, strict=True):
            out[i] = response
            self.pending.append((keys[i], kind, response.to_dict()))
        for i, key in enumerate(keys):
            if out[i] is None:
                out[i] = build(**{**found[key], "cached": True})
        self.hits += len(requests) - len(missing)
        self.misses += len(missing)
        return out

    def generate(self, requests: Sequence[GenerateRequest]) -> list[Generation]:
        return self._answer("generate", requests, self.system.generate, Generation)

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[Loglikelihood]:
        return self._answer("loglikelihood", requests, self.system.loglikelihood, Loglikelihood)

    def take_pending(self) -> list[tuple[str, str, dict[str, Any]]]:
        out, self.pending = self.pending, []
        return out
