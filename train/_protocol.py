"""The trainer plugin interface.

A trainer is a class with a name, a pydantic config class for its block of the
recipe, a ``check`` for settings that only make sense together, and ``train``.
Built-in trainers and a user's own are found the same way: by name, through
the ``finegate.trainers`` entry point group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from finegate.harness.core import PluginRegistry

Loc = tuple[Any, ...]
StepCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class TrainingRun:
    adapter_dir: Path
    manifest: dict[str, Any]
    resumed: bool


class Trainer(Protocol):
    name: ClassVar[str]
    config_class: ClassVar[type[BaseModel]]

    @classmethod
    def check(cls, recipe: Any, config: Any) -> list[tuple[Loc, str]]:
        """Problems with the recipe as a whole, located by recipe path."""
        ...

    def train(
        self,
        recipe: Any,
        config: Any,
        dataset: Any,
        output: Path,
        *,
        resume: bool = True,
        on_step: StepCallback | None = None,
    ) -> TrainingRun: ...


trainers: PluginRegistry[Any] = PluginRegistry("trainer", "finegate.trainers")
