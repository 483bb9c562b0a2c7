"""Serving a registered model by its aliases, and following them as they move.

What a server serves decides what ships, so it trusts neither the alias table nor
the files on disk by themselves. Someone with write access to the store can move
an alias with one UPDATE; someone with write access to the model folder can swap
an adapter. So a version is served at an alias only when

- the newest signed promotion or rollback of ``NAME@ALIAS`` under the release
  rules (checked against the pinned trust root) put that version there, and
- the system rebuilt from the description its evaluation run recorded has the
  fingerprint the version was registered with.

A move that fails either check is refused: the server keeps serving what it
served, logs why, and counts it (``finegate_alias_refusals_total``); it looks
at that version again only after the alias history records a new move. At start, a
refused production version stops the server from starting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from finegate.harness.core import FinegateError, InputError, Problem
from finegate.harness.registry import ModelVersion, Registry, audited_holder
from finegate.harness.registry.trust import TrustRoot, current_rules
from finegate.harness.serve._batcher import BatchStats
from finegate.harness.serve._deployment import (
    CANARY,
    PRODUCTION,
    Batching,
    CanaryDeployment,
    Slot,
)
from finegate.harness.store import Store
from finegate.harness.system import System, innermost, innermost_system, rebuild_system

log = logging.getLogger("finegate.serve")


class AliasRefused(FinegateError):
    """A version the server will not serve at an alias, and why."""


@dataclass(frozen=True)
class AliasSource:
    """Where a model's versions and aliases live, and the root that signs its rules."""

    store: Store
    registry: Registry
    name: str
    trust: TrustRoot

    def version_at(self, alias: str) -> ModelVersion | None:
        try:
            return self.registry.get(f"{self.name}@{alias}")
        except InputError:
            return None

    def alias_stamp(self, alias: str) -> int | None:
        """The newest move of ``NAME@ALIAS`` in the alias history: a signed move
        adds one (even to the version already there), an UPDATE of the alias
        table does not, so a refused version is looked at again only after a move."""
        history = self.registry.alias_history(self.name, alias)
        return int(history[-1]["id"]) if history else None

    def signed_problems(self, alias: str, version: ModelVersion) -> list[str]:
        """Why ``version`` is not at ``alias`` by a signed move (empty: it is)."""
        rules = current_rules(self.store, self.trust)
        if rules is None:
            return [f"{self.store.location} holds no release rules: nothing was promoted"]
        rule = rules.rule_for(self.name, alias)
        if rule is None:
            return [
                f"the release rules (version {rules.version}) name no rule for {self.name}@{alias}"
            ]
        holder = audited_holder(self.store, rules, self.name, alias)
        if holder is None:
            return [f"{self.name}@{alias} was never moved by a signed promotion"]
        signed = holder.predicate.get("version")
        if signed != version.version:
            return [
                f"{self.name}@{alias} points at version {version.version} but the last signed "
                f"move put version {signed} there: it was moved outside finegate"
            ]
        fingerprint = holder.digests.get("fingerprint")
        if fingerprint != version.fingerprint:
            return [
                f"{version.ref} has fingerprint {version.fingerprint[:12]} in the registry, "
                f"{fingerprint[:12]} in its signed promotion: it was changed after promotion"
            ]
        return []

    def system_of(self, version: ModelVersion) -> System:
        """The system ``version`` was evaluated as, rebuilt, with the fingerprint it
        was registered with."""
        runs = version.lineage.get("evaluation_runs") or []
        if not runs:
            raise AliasRefused(f"{version.ref} names no evaluation run to rebuild its system from")
        description = self.store.get_run(runs[0])["system"]
        system = rebuild_system(description)
        found = system.fingerprint()
        inner = innermost(description)
        where = inner.get("adapter") or inner.get("model")
        if found != version.fingerprint:
            raise AliasRefused(
                f"{version.ref}: the system at {where} "
                f"has fingerprint {found[:12]}, but {version.fingerprint[:12]} was registered and "
                "gated: its files changed since"
            )
        return system

    def check_signed(self, alias: str, version: ModelVersion) -> None:
        problems = self.signed_problems(alias, version)
        if problems:
            raise AliasRefused(f"not serving {version.ref} at {alias}: " + "; ".join(problems))

    def checked_system(self, alias: str, version: ModelVersion) -> System:
        self.check_signed(alias, version)
        return self.system_of(version)


def _load(system: System) -> None:
    model = innermost_system(system)
    if hasattr(type(model), "model"):  # a transformers model loads on first use
        _ = model.model


class AliasFollower:
    """Keeps a ``CanaryDeployment`` on the versions its aliases point at."""

    def __init__(
        self,
        source: AliasSource,
        *,
        canary_share: float,
        batching: Batching,
        stats: BatchStats,
        poll_s: float = 1.0,
    ):
        self.source = source
        self.batching, self.stats = batching, stats
        self.poll_s = poll_s
        self.on_refused: Callable[[str, str], None] | None = None  # (alias, message)
        self.refused: dict[tuple[str, int], int | None] = {}  # -> the alias stamp then
        self.loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finegate-loader")
        production = source.version_at(PRODUCTION)
        if production is None:
            raise InputError(
                Problem(f"{source.name} has no production version to serve", field="--registered"),
                hint=f"promote a version first: finegate promote {source.name}:N --to production",
            )
        self.deployment = CanaryDeployment(
            source.name, self._slot(PRODUCTION, production, ()), canary_share
        )
        canary = source.version_at(CANARY)
        if canary is not None:
            try:
                self.deployment.slots[CANARY] = self._slot(
                    CANARY, canary, self.deployment.slots.values()
                )
            except (AliasRefused, InputError) as e:
                self._refuse(CANARY, canary, str(e))

    def _slot(self, alias: str, version: ModelVersion, served: Iterable[Slot]) -> Slot:
        """The slot for ``version`` at ``alias``: one already ``served`` (loaded and
        checked when it was first served; only the signed move is checked again), or
        a new one, checked and loaded here on the loader thread, not on its first
        caller's time."""
        for slot in served:
            if slot.version == version.version:
                self.source.check_signed(alias, version)
                return slot
        system = self.source.checked_system(alias, version)
        _load(system)
        return Slot(
            system,
            label=version.ref,
            name=version.name,
            version=version.version,
            batching=self.batching,
            stats=self.stats,
            fingerprint=version.fingerprint,
        )

    def _refuse(self, alias: str, version: ModelVersion, message: str) -> None:
        self.refused[(alias, version.version)] = self.source.alias_stamp(alias)
        log.warning("%s", message)
        if self.on_refused is not None:
            self.on_refused(alias, message)

    async def refresh(self) -> None:
        """Follow every alias that moved since the last look."""
        loop = asyncio.get_running_loop()
        for alias in (PRODUCTION, CANARY):
            version = await loop.run_in_executor(self.loader, self.source.version_at, alias)
            current = self.deployment.slots.get(alias)
            if version is None:
                if alias == CANARY and current is not None:
                    self.deployment.swap(CANARY, None)
                continue
            if current is not None and current.version == version.version:
                continue
            key = (alias, version.version)
            if key in self.refused:
                stamp = await loop.run_in_executor(self.loader, self.source.alias_stamp, alias)
                if stamp == self.refused[key]:
                    continue  # refused, and not moved since
                del self.refused[key]
            try:
                served = list(self.deployment.slots.values())
                slot = await loop.run_in_executor(self.loader, self._slot, alias, version, served)
            except (AliasRefused, FinegateError) as e:
                self._refuse(alias, version, str(e))
                continue
            log.info("serving %s at %s", version.ref, alias)
            self.deployment.swap(alias, slot)

    async def follow(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self.refresh()
            except Exception as e:  # the store was unreadable for a moment: keep serving
                log.warning("could not read the aliases of %s: %s", self.source.name, e)

    def close(self) -> None:
        self.loader.shutdown(wait=False, cancel_futures=True)
