"""From a recipe to an adapter: prepare the data, pick the trainer, train."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finegate.harness.core import InputError, Problem, format_loc
from finegate.train._data import PreparedDataset, prepare, suite_records
from finegate.train._prefs_data import PreparedPreferences, prepare_preferences
from finegate.train._protocol import StepCallback, TrainingRun, trainers
from finegate.train._recipe import Recipe, data_kind_problems


def prepare_for_recipe(
    recipe: Recipe, base_dir: Path | None = None
) -> PreparedDataset | PreparedPreferences:
    """The recipe's data, prepared: preference data (``data.format`` preference or
    unpaired_preference) as ``PreparedPreferences``, SFT data as ``PreparedDataset``."""
    if recipe.data.preference:
        return prepare_preferences(recipe.data, base_dir=base_dir)
    template = None
    if recipe.template:
        from finegate.harness.system import PromptTemplate

        path = Path(recipe.template)
        template = PromptTemplate.from_yaml(
            base_dir / path if base_dir and not path.is_absolute() else path
        )
    if recipe.data.suite:
        return prepare(
            recipe.data,
            seed=recipe.training.seed,
            suite_splits=suite_records(recipe.data.suite, template),
        )
    return prepare(recipe.data, seed=recipe.training.seed, base_dir=base_dir)


def check_data_kind(recipe: Recipe, trainer_cls: Any) -> None:
    """Refuse a recipe whose trainer takes the other kind of data (SFT or preference)."""
    problems = data_kind_problems(recipe, trainer_cls)
    if problems:
        where = recipe.source_file or f"recipe {recipe.id}"
        raise InputError([Problem(m, file=where, field=format_loc(loc)) for loc, m in problems])


def train(
    recipe: Recipe,
    config: Any,
    *,
    output: str | Path | None = None,
    base_dir: Path | None = None,
    resume: bool = True,
    on_step: StepCallback | None = None,
) -> tuple[TrainingRun, PreparedDataset | PreparedPreferences]:
    """Train ``recipe`` into ``output`` (default: the recipe's, else ``runs/<id>``)."""
    trainer_cls = trainers.get(recipe.method)
    check_data_kind(recipe, trainer_cls)
    dataset = prepare_for_recipe(recipe, base_dir)
    out = Path(output or recipe.output or Path("runs") / recipe.id)
    trainer = trainer_cls()
    return trainer.train(recipe, config, dataset, out, resume=resume, on_step=on_step), dataset
