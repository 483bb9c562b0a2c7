"""From a recipe to an adapter: prepare the data, pick the trainer, train."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finegate.train._data import PreparedDataset, prepare, suite_records
from finegate.train._protocol import StepCallback, TrainingRun, trainers
from finegate.train._recipe import Recipe


def prepare_for_recipe(recipe: Recipe, base_dir: Path | None = None) -> PreparedDataset:
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


def train(
    recipe: Recipe,
    config: Any,
    *,
    output: str | Path | None = None,
    base_dir: Path | None = None,
    resume: bool = True,
    on_step: StepCallback | None = None,
) -> tuple[TrainingRun, PreparedDataset]:
    """Train ``recipe`` into ``output`` (default: the recipe's, else ``runs/<id>``)."""
    dataset = prepare_for_recipe(recipe, base_dir)
    out = Path(output or recipe.output or Path("runs") / recipe.id)
    trainer = trainers.get(recipe.method)()
    return trainer.train(recipe, config, dataset, out, resume=resume, on_step=on_step), dataset
