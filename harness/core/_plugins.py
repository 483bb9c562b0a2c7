"""Named plugin registries.

Built-in scorers, suites, trainers, CLI commands and pipeline steps register by
name with a decorator; third-party packages add theirs through an entry point
group, loaded only on the first lookup that misses so that startup stays fast.
A user's plugin is a peer of the built-in ones: same registry, same lookup.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from finegate.harness.core._errors import InputError, Problem

T = TypeVar("T")


class PluginRegistry(Generic[T]):
    def __init__(self, kind: str, group: str | None = None):
        self.kind = kind
        self.group = group
        self._items: dict[str, T] = {}
        self._entry_points_loaded = group is None

    def register(self, name: str, item: T, *, replace: bool = False) -> T:
        if not replace and name in self._items and self._items[name] is not item:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def decorator(self, name: str | None = None) -> Callable[[T], T]:
        def wrap(item: T) -> T:
            key = name or getattr(item, "__name__", None)
            if not key:
                raise ValueError(f"a {self.kind} needs a name")
            return self.register(key, item)

        return wrap

    def load_entry_points(self) -> None:
        if self._entry_points_loaded or self.group is None:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=self.group):
            if ep.name in self._items:
                continue
            self._items[ep.name] = ep.load()

    def get(
        self,
        name: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> T:
        if name not in self._items:
            self.load_entry_points()
        if name not in self._items:
            known = sorted(self._items)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(
                Problem(
                    f"unknown {self.kind} {name!r}; {hint}known: {', '.join(known) or 'none'}",
                    file=file,
                    line=line,
                    field=field,
                )
            )
        return self._items[name]

    def names(self) -> list[str]:
        self.load_entry_points()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self.load_entry_points()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
