"""The pipeline steps the training package owns: ``prepare`` and ``train``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finegate.harness.pipeline import PipelineContext, step

RECIPES = Path(__file__).parent / "recipes"


def resolve_recipe(ref: str) -> Path:
    """A recipe file, or a built-in recipe by name (``triage-lora``)."""
    path = Path(ref)
    if path.exists():
        return path
    builtin = RECIPES / f"{ref}.yaml"
    if builtin.exists():
        return builtin
    from finegate.harness.core import InputError

    known = ", ".join(sorted(p.stem for p in RECIPES.glob("*.yaml")))
    raise InputError(f"no recipe {ref!r}: not a file, nor a built-in recipe ({known})")


def _recipes(context: PipelineContext) -> list[tuple[Path, Any, Any]]:
    from finegate.train._recipe import load_recipe

    out = []
    for ref in context.get("recipes"):
        path = resolve_recipe(ref)
        recipe, config = load_recipe(path)
        out.append((path, recipe, config))
    return out


@step("prepare")
def prepare_step(context: PipelineContext) -> dict[str, Any]:
    """Validate every recipe and prepare its data (dedup, PII census, split, manifest)."""
    from finegate.train._run import prepare_for_recipe

    datasets = {}
    for path, recipe, _ in _recipes(context):
        data = prepare_for_recipe(recipe, path.resolve().parent)
        datasets[recipe.id] = {
            "sha256": data.hash,
            "counts": data.manifest["counts"],
            "pii_total": data.manifest["pii"].get("total", 0),
        }
    return {"datasets": datasets}


@step("train")
def train_step(context: PipelineContext) -> dict[str, Any]:
    """Train each recipe into the work folder; a finished adapter is reused."""
    from finegate.harness.core import progress_bar
    from finegate.train._run import train

    workdir = Path(context.get("workdir"))
    adapters, summaries = {}, {}
    with progress_bar(enabled=context.get("progress") is not False) as update:
        for path, recipe, config in _recipes(context):

            def on_step(info: dict[str, Any], rid: str = recipe.id) -> None:
                if update is not None:
                    update(f"training {rid}", info["step"], info["total"], loss=info["loss"])

            run, _ = train(
                recipe,
                config,
                output=workdir / "adapters" / recipe.id,
                base_dir=path.resolve().parent,
                on_step=on_step,
            )
            adapters[recipe.id] = str(run.adapter_dir)
            m = run.manifest
            summaries[recipe.id] = {
                "steps": m["steps"],
                "wall_time_s": m["wall_time_s"],
                "epsilon": (m["dp"] or {}).get("epsilon"),
            }
    return {"adapters": adapters, "training": summaries, "base_model": _base(context)}


def _base(context: PipelineContext) -> str:
    bases = {recipe.base_model for _, recipe, _ in _recipes(context)}
    if len(bases) != 1:
        from finegate.harness.core import InputError

        raise InputError(f"the recipes of one pipeline must share a base model, not {bases}")
    return bases.pop()
