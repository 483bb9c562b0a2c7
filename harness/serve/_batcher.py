"""Requests that arrive within a short window are answered by one batched call,
so a served model uses its batch size whether callers send one request or many."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BatchStats:
    """How the batcher grouped requests: sizes of the System calls it made."""

    generate: list[int] = field(default_factory=list)
    loglikelihood: list[int] = field(default_factory=list)


class Batcher:
    """Collects requests for ``window_s`` (or until ``max_batch``) and answers
    them with one call of ``fn`` on the shared worker thread."""

    def __init__(
        self,
        fn: Callable[[list[Any]], list[Any]],
        executor: ThreadPoolExecutor,
        window_s: float,
        max_batch: int,
        sizes: list[int],
    ):
        self.fn, self.executor = fn, executor
        self.window_s, self.max_batch = window_s, max_batch
        self.sizes = sizes
        self.queue: asyncio.Queue[tuple[Any, asyncio.Future[Any]]] | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.queue = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def submit(self, item: Any) -> Any:
        assert self.queue is not None, "batcher not started"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self.queue.put((item, future))
        return await future

    async def _loop(self) -> None:
        assert self.queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            deadline = loop.time() + self.window_s
            while len(batch) < self.max_batch:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), remaining))
                except TimeoutError:
                    break
            items = [item for item, _ in batch]
            self.sizes.append(len(items))
            try:
                results = await loop.run_in_executor(self.executor, self.fn, items)
            except Exception as e:  # every waiting request gets the System's error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(e)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
