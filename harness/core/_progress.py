"""Progress on long work, on standard error so standard output stays clean for ``--json``.

A terminal gets a live bar; a log (CI, a pipe) gets one plain line each time a
task passes another tenth of its work, so long runs show progress there too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Update = Callable[..., None]


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Update | None]:
    """Yields ``update(task, done, total, **fields)``, or None when disabled.
    ``fields`` (a loss, say) are shown beside the bar."""
    if not enabled:
        yield None
        return
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield _log_lines()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    tasks: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as progress:

        def update(task: str, done: int, total: int, **fields: Any) -> None:
            info = _info(fields)
            if task not in tasks:
                tasks[task] = progress.add_task(task, total=total, info=info)
            progress.update(tasks[task], completed=done, total=total, info=info)

        yield update


def _info(fields: dict[str, Any]) -> str:
    return "  ".join(
        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items()
    )


def _log_lines() -> Update:
    shown: dict[str, int] = {}

    def update(task: str, done: int, total: int, **fields: Any) -> None:
        tenth = (10 * done) // max(total, 1)
        if shown.get(task) == tenth:
            return
        shown[task] = tenth
        print(f"{task}: {done}/{total} {_info(fields)}".rstrip(), file=sys.stderr, flush=True)

    return update
