"""What answers a request: one fixed system, or the versions a model's aliases
point at, with a sticky canary slice.

Each served version is a ``Slot``: its system, one worker thread (a model is not
safe to call from two at once), its batcher, and a count of requests in flight.
A request holds its slot until it is answered, so when an alias moves the new
slot takes new requests at once and the old one is closed only after its last
request is answered: nothing in flight is dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from finegate.harness.serve._batcher import Batcher, BatchStats
from finegate.harness.serve._logprobs import _scoring_model
from finegate.harness.system import System

log = logging.getLogger("finegate.serve")

PRODUCTION, CANARY = "production", "canary"


@dataclass(frozen=True)
class Batching:
    window_s: float = 0.01
    max_batch: int = 32


class Slot:
    """One version being served."""

    def __init__(
        self,
        system: System,
        *,
        label: str,
        name: str,
        version: int | None,
        batching: Batching,
        stats: BatchStats,
        fingerprint: str | None = None,
    ):
        self.system = system
        self.label, self.name, self.version = label, name, version
        self.fingerprint = fingerprint or system.fingerprint()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"finegate-{label}")
        self.generate = Batcher(
            system.generate, self.executor, batching.window_s, batching.max_batch, stats.generate
        )
        self.scorer = _scoring_model(system)
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._state = "new"

    def start(self) -> None:
        if self._state == "new":
            self.generate.start()
            self._state = "started"

    def enter(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()

    async def close(self) -> None:
        """After the last request in flight is answered."""
        if self._state == "closed":
            return
        self._state = "closed"
        if self.in_flight:
            await self._idle.wait()
        await self.generate.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)


def canary_bucket(caller: str) -> float:
    """Where a caller falls in [0, 1): the same caller always falls in the same
    place, so a caller sees one version, and a share s of callers sees the canary."""
    digest = hashlib.sha256(b"finegate-canary\x00" + caller.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class Deployment:
    """The slots a server answers from; ``route`` picks one per request."""

    served_name: str

    def __init__(self, served_name: str, production: Slot):
        self.served_name = served_name
        self.slots: dict[str, Slot] = {PRODUCTION: production}
        self._closing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        for slot in self.slots.values():
            slot.start()

    async def stop(self) -> None:
        for slot in self.slots.values():
            await slot.close()
        for task in list(self._closing):
            await task

    def route(self, caller: str | None) -> tuple[Slot, str]:
        return self.slots[PRODUCTION], PRODUCTION

    def swap(self, alias: str, slot: Slot | None) -> None:
        """Serve ``slot`` at ``alias`` from now on; the old slot closes once idle."""
        old = self.slots.pop(alias, None)
        if slot is not None:
            slot.start()
            self.slots[alias] = slot
        if old is not None and all(s is not old for s in self.slots.values()):
            task = asyncio.get_running_loop().create_task(old.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "id": self.served_name,
                "object": "model",
                "created": 0,
                "owned_by": "finegate",
                "fingerprint": self.slots[PRODUCTION].fingerprint,
                "finegate": {
                    alias: {"version": slot.label, "fingerprint": slot.fingerprint}
                    for alias, slot in self.slots.items()
                },
            }
        ]


class FixedDeployment(Deployment):
    """One system, for as long as the server runs (``finegate serve --model``)."""

    def __init__(self, system: System, served_name: str, batching: Batching, stats: BatchStats):
        slot = Slot(
            system,
            label=system.name,
            name=served_name,
            version=None,
            batching=batching,
            stats=stats,
        )
        super().__init__(served_name, slot)

    def route(self, caller: str | None) -> tuple[Slot, str]:
        return self.slots[PRODUCTION], "fixed"


class CanaryDeployment(Deployment):
    """Production, and a canary for a share of callers (per caller, not per request)."""

    def __init__(self, served_name: str, production: Slot, canary_share: float):
        super().__init__(served_name, production)
        self.canary_share = canary_share

    def route(self, caller: str | None) -> tuple[Slot, str]:
        canary = self.slots.get(CANARY)
        if (
            canary is not None
            and caller is not None
            and self.canary_share > 0
            and canary_bucket(caller) < self.canary_share
        ):
            return canary, CANARY
        return self.slots[PRODUCTION], PRODUCTION
