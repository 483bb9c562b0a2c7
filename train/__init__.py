"""Training backends behind one interface, and the data pipeline.

Built in: ``lora``, ``qlora`` and ``dp-sgd`` (each a config + trainer pair in its
own folder), found by name through the ``finegate.trainers`` entry point group
like any plugin. torch, peft, bitsandbytes and opacus are imported only when a
trainer runs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Recipe": "_recipe",
    "DataConfig": "_recipe",
    "TrainingConfig": "_recipe",
    "CanaryConfig": "_recipe",
    "load_recipe": "_recipe",
    "Trainer": "_protocol",
    "TrainingRun": "_protocol",
    "trainers": "_protocol",
    "PreparedDataset": "_data",
    "prepare": "_data",
    "suite_records": "_data",
    "train": "_run",
    "prepare_for_recipe": "_run",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'finegate.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"finegate.train.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
