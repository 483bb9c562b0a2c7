"""Training backends behind one interface, and the data pipeline.

Built in: ``lora``, ``qlora`` and ``dp-sgd`` on SFT data, ``dpo`` and ``kto``
on preference data (each a config + trainer pair in its own folder), found by
name through the ``finegate.trainers`` entry point group like any plugin.
torch, peft, bitsandbytes, opacus and trl are imported only when a trainer runs.
"""

from __future__ import annotations

from finegate.harness.core import lazy_exports

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
    "PreparedPreferences": "_prefs_data",
    "PreferenceRecord": "_prefs_data",
    "prepare_preferences": "_prefs_data",
    "train": "_run",
    "prepare_for_recipe": "_run",
    "encode_example": "_tokenize",
    "collate": "_tokenize",
    "micro_batches": "_tokenize",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
